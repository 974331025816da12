"""The steps every change (edit, delete, reaction, pin) takes alike, in its one
transaction: the room's next seq under its row lock, the target read, the
change's own row in the stream, and the target's `updated_seq` set to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text, update

from service.db import UTCDateTime
from service.errors import NotFound
from service.messages.models import MESSAGE
from service.rooms.service import ROOM_NOT_FOUND
from service.tables import messages

MESSAGE_NOT_FOUND = "message not found"


class Unchanged(Exception):
    """The change would change nothing (a delete of a deleted message, a reaction
    the user has already): nothing is stored, and the seq taken is given back."""


@dataclass(frozen=True, slots=True)
class Locked:
    """The room, its row locked until commit."""

    seq: int  # the change's own
    owner_id: int
    kind: str


@dataclass(frozen=True, slots=True)
class Target:
    """The message a change is about, as the lock found it."""

    id: int
    author: int
    deleted: bool
    created_at: datetime
    thread_seq: int | None
    pinned: bool
    reactions: str | None  # the summary's JSON
    detail: str | None


# Written once as text: building and keying a Core statement on every change cost
# several times what SQLite spends running it.
_NEXT_SEQ = text("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = :room_id RETURNING last_seq, owner_id, kind")
_TARGET = text("""
SELECT id, user_id, deleted, created_at, thread_seq, pinned_seq IS NOT NULL AS pinned, reactions, detail
FROM messages
WHERE room_id = :room_id AND seq = :seq AND kind = 'message'
""").columns(created_at=UTCDateTime)
_ENTRY = text("""
INSERT INTO messages (room_id, seq, kind, target_seq, user_id, body, created_at, updated_seq, detail, deleted,
                      reply_count, mentions_room)
VALUES (:room_id, :seq, :kind, :target_seq, :user_id, :body, :created_at, :seq, :detail, false, 0, false)
""").bindparams(bindparam("created_at", type_=UTCDateTime))


def next_seq(conn: Connection, room_id: int) -> Locked:
    """The room's next seq, taken under its row lock (held until commit)."""
    room = conn.execute(_NEXT_SEQ, {"room_id": room_id}).first()
    if room is None:
        raise NotFound(ROOM_NOT_FOUND)
    return Locked(*room)


def target(conn: Connection, room_id: int, target_seq: int) -> Target:
    row = conn.execute(_TARGET, {"room_id": room_id, "seq": target_seq}).first()
    if row is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    id_, author, deleted, created_at, thread_seq, pinned, summary, detail = row
    return Target(id_, author, bool(deleted), created_at, thread_seq, bool(pinned), summary, detail)


def entry(
    conn: Connection,
    *,
    room_id: int,
    seq: int,
    kind: str,
    target_seq: int,
    user_id: int,
    now: datetime,
    body: str | None = None,
    detail: str | None = None,
) -> None:
    """The change's own row in the room's stream."""
    values = {"room_id": room_id, "seq": seq, "kind": kind, "target_seq": target_seq, "user_id": user_id}
    conn.execute(_ENTRY, {**values, "body": body, "created_at": now, "detail": detail})


def change_target(conn: Connection, room_id: int, target_seq: int, seq: int, **values: Any) -> None:
    """The target's new state; the change at `seq` is the last that changed it."""
    conn.execute(
        update(messages)
        .where(messages.c.room_id == room_id, messages.c.seq == target_seq, messages.c.kind == MESSAGE)
        .values(updated_seq=seq, **values)
    )
