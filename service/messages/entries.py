"""What a room's stream holds, as plain values: what frames, history and the
writer's answers are made of. Every entry has the room's next `seq`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class RoomGone(Exception):
    """The room was deleted before the message could be stored."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A committed message in its current state (`body` None once deleted)."""

    id: int
    room_id: int
    seq: int
    user_id: int
    username: str
    body: str | None
    client_msg_id: str | None
    created_at: datetime
    edited_at: datetime | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class StoredEdit:
    """The message at `target_seq` got `body` (None once that message is deleted)."""

    room_id: int
    seq: int
    target_seq: int
    user_id: int
    username: str
    body: str | None
    edited_at: datetime


@dataclass(frozen=True, slots=True)
class StoredDelete:
    """The message at `target_seq` was deleted by `user_id`."""

    room_id: int
    seq: int
    target_seq: int
    user_id: int
    username: str


StreamEvent = StoredMessage | StoredEdit | StoredDelete


@dataclass(frozen=True, slots=True)
class StoreResult:
    message: StoredMessage
    created: bool  # False: a repeat of an earlier client_msg_id; nothing new stored
    # The sender's read marker moved past entries of the stream that were not theirs
    # (set on their last message of the batch in the room): their devices are told.
    read_past_others: bool = False
