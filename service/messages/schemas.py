from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from service.auth.schemas import UserRef
from service.files.objects import MAX_FILES
from service.messages.blank import visible_pattern, visible_schema, visible_text
from service.messages.entries import StoredMessage
from service.messages.models import Message
from service.messages.stream_frames import message_object
from service.messages.stream_rows import message_of_model
from service.paging import MAX_SEQ

# Checked in code, so that a refusal says what is wrong; the schema shows the rule as a pattern.
Body = Annotated[str, AfterValidator(visible_text), Field(json_schema_extra=visible_schema)]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


ClientMsgId = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_no_nul)]


class ReactionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    emoji: str
    count: int
    user_ids: list[int] = Field(description="the first 100 users who reacted with it, in order")


class RootOut(BaseModel):
    """A thread's root as an entry left it."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    reply_count: int
    last_reply_at: datetime | None


class MessageOut(BaseModel):
    """A message in its current state (docs/protocol.md, Objects), from a stored message or a row."""

    id: int
    room_id: int
    seq: int
    user: UserRef
    body: str | None = Field(description="null once deleted")
    client_msg_id: str | None
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    updated_seq: int = Field(description="the seq of the last entry that changed it, else its own")
    thread_seq: int | None = Field(description="a reply's root")
    reply_count: int = Field(description="a root's replies that are not deleted")
    last_reply_at: datetime | None
    reactions: list[ReactionOut] = Field(description="in the order each emoji was first added")
    pinned: bool
    mentions: list[int] = Field(description="the ids of the users mentioned, in order of first appearance")
    mentions_room: bool = Field(description="the body says @room")
    files: list[dict[str, Any]] = Field(description="the files attached")

    @model_validator(mode="before")
    @classmethod
    def _from_stored(cls, data: Any) -> Any:
        if isinstance(data, Message):
            data = message_of_model(data)
        return message_object(data) if isinstance(data, StoredMessage) else data


class MessagePage(BaseModel):
    items: list[MessageOut]
    has_more: bool


class MessageEdit(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    body: Body = Field(description="at most CHAT_MAX_MESSAGE_CHARS characters")


def _body_shows_or_files(schema: dict[str, Any]) -> None:
    """The rule of _shows_something, for /openapi.json: a body that shows, or files."""
    schema["anyOf"] = [
        {"properties": {"body": {"minLength": 1, "pattern": visible_pattern()}}},
        {"required": ["files"], "properties": {"files": {"type": "array", "minItems": 1}}},
    ]


class MessageSend(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_body_shows_or_files)

    # Before body, which may be empty only with files (validated in this order).
    files: list[str] | None = Field(
        default=None,
        description=f"ids of your own uploads not attached yet, at most {MAX_FILES}; else 409 invalid_files",
    )
    body: Annotated[str, AfterValidator(_no_nul)] = Field(
        description='at most CHAT_MAX_MESSAGE_CHARS characters; may be "" (or blank) only with files'
    )
    client_msg_id: ClientMsgId | None = Field(default=None, description="a retry with it stores nothing twice")
    thread_seq: Annotated[int, Field(ge=1, le=MAX_SEQ)] | None = Field(
        default=None, description="a reply in the thread of the message at this seq"
    )

    @field_validator("body")
    @classmethod
    def _shows_something(cls, body: str, info: ValidationInfo) -> str:
        if not info.data.get("files"):
            visible_text(body)
        return body


class ThreadPage(BaseModel):
    root: MessageOut
    items: list[MessageOut] = Field(description="the replies, ascending by seq")
    has_more: bool


class PinPage(BaseModel):
    items: list[MessageOut] = Field(description="the most recently pinned first")


# The stream's frames, as GET /rooms/{id}/events pages them (docs/protocol.md).
class MessageEvent(MessageOut):
    type: Literal["message"]
    root: RootOut | None = Field(default=None, description="a reply's: its root's counts just after it")


class EditEvent(BaseModel):
    type: Literal["edit"]
    seq: int
    target_seq: int
    body: str | None = Field(description="null once the message is deleted")
    edited_at: datetime
    user: UserRef
    mentions: list[int]
    mentions_room: bool


class DeleteEvent(BaseModel):
    type: Literal["delete"]
    seq: int
    target_seq: int
    user: UserRef
    unpinned: bool = Field(description="the message was pinned: deleting it unpinned it")
    root: RootOut | None = Field(default=None, description="a reply's: its root's counts just after it")


class ReactionEvent(BaseModel):
    type: Literal["reaction"]
    seq: int
    target_seq: int
    emoji: str
    op: Literal["add", "remove"]
    user: UserRef
    count: int = Field(description="how many users have this emoji on the message after it")


class PinEvent(BaseModel):
    type: Literal["pin"]
    seq: int
    target_seq: int
    op: Literal["add", "remove"]
    user: UserRef


StreamFrame = Annotated[MessageEvent | EditEvent | DeleteEvent | ReactionEvent | PinEvent, Field(discriminator="type")]


class EventPage(BaseModel):
    items: list[StreamFrame]
    has_more: bool
