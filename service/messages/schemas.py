from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from service.auth.schemas import UserRef

# At least one character that is not whitespace, no NUL (PostgreSQL text cannot hold it).
Body = Annotated[str, StringConstraints(min_length=1, pattern=r"^[^\x00]*[^\s\x00][^\x00]*$")]


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    room_id: int
    seq: int
    user: UserRef
    body: str | None = Field(description="null once deleted")
    client_msg_id: str | None
    created_at: datetime
    edited_at: datetime | None
    deleted: bool


class MessagePage(BaseModel):
    items: list[MessageOut]
    has_more: bool


class MessageEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Body = Field(description="at most CHAT_MAX_MESSAGE_CHARS characters")

    @field_validator("body")
    @classmethod
    def _not_blank(cls, body: str) -> str:
        # Blank as a sent message is (str.strip): the pattern's \s misses U+001C-U+001F.
        if not body.strip():
            raise ValueError("the message body is empty")
        return body


# The stream's frames, as GET /rooms/{id}/events pages them (docs/protocol.md).
class MessageEvent(MessageOut):
    type: Literal["message"]


class EditEvent(BaseModel):
    type: Literal["edit"]
    seq: int
    target_seq: int
    body: str | None = Field(description="null once the message is deleted")
    edited_at: datetime
    user: UserRef


class DeleteEvent(BaseModel):
    type: Literal["delete"]
    seq: int
    target_seq: int
    user: UserRef


class EventPage(BaseModel):
    items: list[Annotated[MessageEvent | EditEvent | DeleteEvent, Field(discriminator="type")]]
    has_more: bool
