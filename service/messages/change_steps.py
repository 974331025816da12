"""The steps every change (edit, delete, reaction, pin) takes alike, in its one
transaction: the room's next seq under its row lock, the target read, the
change's own row in the stream, and the target's `updated_seq` set to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.errors import NotFound
from service.messages.models import MESSAGE
from service.rooms.service import ROOM_NOT_FOUND
from service.tables import messages, rooms

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


async def next_seq(conn: AsyncConnection, room_id: int) -> Locked:
    """The room's next seq, taken under its row lock (held until commit)."""
    room = (
        await conn.execute(
            update(rooms)
            .where(rooms.c.id == room_id)
            .values(last_seq=rooms.c.last_seq + 1)
            .returning(rooms.c.last_seq, rooms.c.owner_id, rooms.c.kind)
        )
    ).first()
    if room is None:
        raise NotFound(ROOM_NOT_FOUND)
    return Locked(*room)


async def target(conn: AsyncConnection, room_id: int, target_seq: int) -> Target:
    row = (
        await conn.execute(
            select(
                messages.c.id,
                messages.c.user_id,
                messages.c.deleted,
                messages.c.created_at,
                messages.c.thread_seq,
                messages.c.pinned_seq.is_not(None),
                messages.c.reactions,
            ).where(messages.c.room_id == room_id, messages.c.seq == target_seq, messages.c.kind == MESSAGE)
        )
    ).first()
    if row is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    return Target(*row)


async def entry(
    conn: AsyncConnection,
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
    await conn.execute(
        insert(messages).values(
            room_id=room_id,
            seq=seq,
            kind=kind,
            target_seq=target_seq,
            user_id=user_id,
            body=body,
            created_at=now,
            updated_seq=seq,
            detail=detail,
        )
    )


async def change_target(conn: AsyncConnection, room_id: int, target_seq: int, seq: int, **values: Any) -> None:
    """The target's new state; the change at `seq` is the last that changed it."""
    await conn.execute(
        update(messages)
        .where(messages.c.room_id == room_id, messages.c.seq == target_seq, messages.c.kind == MESSAGE)
        .values(updated_seq=seq, **values)
    )
