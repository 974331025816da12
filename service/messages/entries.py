"""What a room's stream holds, as plain values: what frames, history and the
writer's answers are made of. Every entry has the room's next `seq`, and sets
`updated_seq` of each message it changes (guarantee 10)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

Op = Literal["add", "remove"]
ADD: Final[Op] = "add"
REMOVE: Final[Op] = "remove"


# Not stored, for a reason of the store's own (a failure, shutting down): the
# sender retries with the same client_msg_id. The code of its error frame and REST answer.
UNAVAILABLE: Final = "unavailable"
NOT_STORED: Final = "the message could not be stored; retry with the same client_msg_id"


class RoomGone(Exception):
    """The room was deleted before the message could be stored."""


class InvalidThread(Exception):
    """A reply whose root is not a top-level message of its room that is not deleted: nothing stored."""

    code: Final = "invalid_thread"


NOT_YOURS = "each file must be one of your own uploads, not attached to a message yet, named once"


class InvalidFiles(Exception):
    """A message naming a file that is not its sender's own unattached upload, or one
    twice: nothing stored (docs/files.md)."""

    code: Final = "invalid_files"


@dataclass(frozen=True, slots=True)
class ReactionSummary:
    """One emoji on a message: how many users have it, the first 100 of them in order."""

    emoji: str
    count: int
    user_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RootCounts:
    """A thread's root as an entry left it: its replies that are not deleted."""

    seq: int
    reply_count: int
    last_reply_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A committed message in its current state (`body` None once deleted); a reply
    (`thread_seq`) also carries `root`, its root's counts as of the reply."""

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
    updated_seq: int = 0  # 0: its own seq (nothing changed it yet)
    thread_seq: int | None = None
    reply_count: int = 0
    last_reply_at: datetime | None = None
    reactions: tuple[ReactionSummary, ...] = ()
    pinned: bool = False
    mentions: tuple[int, ...] = ()
    mentions_room: bool = False
    files: tuple[dict[str, Any], ...] = ()  # File objects, as JSON holds them
    root: RootCounts | None = None

    def __post_init__(self) -> None:
        if not self.updated_seq:
            object.__setattr__(self, "updated_seq", self.seq)


@dataclass(frozen=True, slots=True)
class StoredEdit:
    """The message at `target_seq` got `body` (None once that message is deleted)
    and the mentions it makes after the edit."""

    room_id: int
    seq: int
    target_seq: int
    user_id: int
    username: str
    body: str | None
    edited_at: datetime
    mentions: tuple[int, ...] = ()
    mentions_room: bool = False


@dataclass(frozen=True, slots=True)
class StoredDelete:
    """The message at `target_seq` was deleted by `user_id`; `unpinned` when it was
    pinned, `root` the thread's root after it when it was a reply."""

    room_id: int
    seq: int
    target_seq: int
    user_id: int
    username: str
    unpinned: bool = False
    root: RootCounts | None = None


@dataclass(frozen=True, slots=True)
class StoredReaction:
    """`user_id` added or removed `emoji` on the message at `target_seq`; `count`
    users have it after this entry."""

    room_id: int
    seq: int
    target_seq: int
    user_id: int
    username: str
    emoji: str
    op: Op
    count: int


@dataclass(frozen=True, slots=True)
class StoredPin:
    """`user_id` pinned (`add`) or unpinned (`remove`) the message at `target_seq`."""

    room_id: int
    seq: int
    target_seq: int
    user_id: int
    username: str
    op: Op


# What a change stores: an entry that changes an earlier one.
ChangeEntry = StoredEdit | StoredDelete | StoredReaction | StoredPin
StreamEvent = StoredMessage | ChangeEntry


@dataclass(frozen=True, slots=True)
class StoreResult:
    message: StoredMessage
    created: bool  # False: a repeat of an earlier client_msg_id; nothing new stored
    # The sender's read marker moved past entries of the stream that were not theirs
    # (set on their last message of the batch in the room): their devices are told.
    read_past_others: bool = False
