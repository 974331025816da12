"""Pins over REST (docs/stream-entries.md, Pins): each change an entry of the room's stream, through the writer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from service.auth.dependencies import CurrentUser
from service.db import SessionDep
from service.errors import error_responses
from service.messages import stream_reads
from service.messages.dependencies import WriterDep
from service.messages.pins import Pin
from service.messages.schemas import MessageOut, PinPage
from service.paging import MAX_SEQ
from service.replicas.dependencies import RoutedReadsDep
from service.replicas.routing import RoomFresh
from service.rooms.dependencies import READER_ERRORS, ReadableRoom

router = APIRouter(prefix="/rooms", tags=["pins"])

Seq = Annotated[int, Path(ge=1, le=MAX_SEQ)]


@router.get("/{room_id}/pins", response_model=PinPage, responses=error_responses(*READER_ERRORS))
async def room_pins(room: ReadableRoom, session: SessionDep, routed: RoutedReadsDep) -> PinPage:
    """The room's pinned messages in their current state, the most recently pinned first."""
    pinned = await routed.read(session, lambda s: stream_reads.pinned(s, room.id), RoomFresh(room.id, room.last_seq))
    return PinPage(items=[MessageOut.model_validate(m) for m in pinned])


@router.put(
    "/{room_id}/pins/{seq}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*READER_ERRORS, 403, 409),
)
async def pin_message(seq: Seq, room: ReadableRoom, user: CurrentUser, session: SessionDep, writer: WriterDep) -> None:
    """A `pin` entry (`add`) unless the message is pinned already; members (and admins) only."""
    await _pin(seq, room.id, user, session, writer, add=True)


@router.delete(
    "/{room_id}/pins/{seq}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*READER_ERRORS, 403),
)
async def unpin_message(
    seq: Seq, room: ReadableRoom, user: CurrentUser, session: SessionDep, writer: WriterDep
) -> None:
    """A `pin` entry (`remove`) if the message was pinned; members (and admins) only."""
    await _pin(seq, room.id, user, session, writer, add=False)


async def _pin(seq: int, room_id: int, user: CurrentUser, session: SessionDep, writer: WriterDep, *, add: bool) -> None:
    await session.commit()  # the writer takes the database's write lock on SQLite
    change = Pin(
        room_id=room_id, target_seq=seq, user_id=user.id, username=user.username, is_admin=user.is_admin, add=add
    )
    await writer.apply(change)
