from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.messages.schemas import MessageOut
from service.paging import MAX_SEQ
from service.rooms.schemas import RoomOut


class ReadIn(BaseModel):
    # Strict: true, "1" and 1.0 are not seqs (as in a socket's read frame).
    model_config = ConfigDict(extra="forbid", strict=True)

    seq: Annotated[int, Field(ge=0, le=MAX_SEQ, description="clamped to the room's last_seq")]


class ThreadReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    seq: Annotated[int, Field(ge=0, le=MAX_SEQ, description="clamped to the seq of the thread's newest reply")]


class MyRoom(BaseModel):
    room: RoomOut
    last_read_seq: int
    unread: int = Field(description="top-level messages of others above last_read_seq, not deleted")
    mentions: int = Field(description="those of them that mention the caller, by name or `@room`")


class MyRoomList(BaseModel):
    items: list[MyRoom]
    has_more: bool
    next_before: str | None = Field(
        description="`before` for the next page, null on the last; an opaque string: pass it back as it is"
    )


class MyThread(BaseModel):
    room_id: int
    root: MessageOut
    last_read_seq: int = Field(description="the caller's marker in the thread")
    unread: int = Field(description="replies of others above last_read_seq, not deleted")
    mentions: int = Field(description="those of them that mention the caller, by name or `@room`")


class MyThreadList(BaseModel):
    items: list[MyThread]
    has_more: bool
    next_before: str | None = Field(
        description="`before` for the next page, null on the last; an opaque string: pass it back as it is"
    )
