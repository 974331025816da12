"""Pins (docs/stream-entries.md, Pins): a member (or an admin) pins or unpins a message, an entry of
the stream; a room holds at most MAX_PINS pinned messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, func, select

from service.errors import Conflict, Forbidden
from service.messages.change_steps import Locked, Target, Unchanged, change_target, entry
from service.messages.entries import ADD, REMOVE, StoredPin
from service.messages.models import PIN
from service.messages.stream_rows import dump
from service.tables import messages, room_members

MAX_PINS: Final = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class Pin:
    """The message at `target_seq` is pinned (`add`) or unpinned."""

    room_id: int
    target_seq: int
    user_id: int
    username: str
    is_admin: bool
    add: bool


def pin(conn: Connection, change: Pin, room: Locked, target: Target, now: datetime) -> StoredPin:
    if not change.is_admin and not _member(conn, change.room_id, change.user_id):
        raise Forbidden("only members of the room may pin or unpin messages")
    if change.add:
        if target.deleted:
            raise Conflict("the message was deleted")
        if target.pinned:
            raise Unchanged
        pins = conn.scalar(
            select(func.count())
            .select_from(messages)
            .where(messages.c.room_id == change.room_id, messages.c.pinned_seq.is_not(None))
        )
        if (pins or 0) >= MAX_PINS:
            raise Conflict(f"too many pins: a room holds at most {MAX_PINS} pinned messages")
    elif not target.pinned:
        raise Unchanged
    change_target(conn, change.room_id, change.target_seq, room.seq, pinned_seq=room.seq if change.add else None)
    op = ADD if change.add else REMOVE
    entry(
        conn,
        room_id=change.room_id,
        seq=room.seq,
        kind=PIN,
        target_seq=change.target_seq,
        user_id=change.user_id,
        now=now,
        detail=dump({"op": op}),
    )
    return StoredPin(change.room_id, room.seq, change.target_seq, change.user_id, change.username, op)


def _member(conn: Connection, room_id: int, user_id: int) -> bool:
    found = conn.scalar(
        select(room_members.c.user_id).where(room_members.c.room_id == room_id, room_members.c.user_id == user_id)
    )
    return found is not None
