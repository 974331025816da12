from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from service.auth.schemas import UserRef
from service.messages.blank import visible_schema, visible_text

# Checked in code, so that a refusal says what is wrong; the schema shows the rule as a pattern.
Body = Annotated[str, AfterValidator(visible_text), Field(json_schema_extra=visible_schema)]


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
    model_config = ConfigDict(extra="forbid", strict=True)

    body: Body = Field(description="at most CHAT_MAX_MESSAGE_CHARS characters")


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
