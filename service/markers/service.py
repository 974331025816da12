"""Moving read markers, and the caller's rooms with their unread counts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, case, func, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.messages.models import UNCOUNTED, Message
from service.rooms.models import Room, RoomMember

_members: Table = RoomMember.__table__  # type: ignore[assignment]
_rooms: Table = Room.__table__  # type: ignore[assignment]


async def mark_read(session: AsyncSession, room_id: int, user_id: int, seq: int) -> int | None:
    """Move the user's marker forward to min(seq, the room's last_seq); the new
    marker, or None when it did not move (already there, or not a member)."""
    last = select(_rooms.c.last_seq).where(_rooms.c.id == room_id).scalar_subquery()
    target = case((last < seq, last), else_=literal(seq))
    moved = await session.execute(
        update(_members)
        .where(_members.c.room_id == room_id, _members.c.user_id == user_id, _members.c.last_read_seq < target)
        .values(last_read_seq=target)
        .returning(_members.c.last_read_seq)
    )
    seen: int | None = moved.scalar()
    return seen


async def my_rooms(session: AsyncSession, user: User) -> Sequence[tuple[Room, int, int]]:
    """(room, last_read_seq, unread) for each room the user is a member of, the
    most recently active first.

    Unread is counted, not kept: seq is gapless, so last_seq - last_read_seq entries
    lie above the marker, less the events and deleted messages among them (the
    partial index ix_messages_uncounted, which plain messages never enter). None of
    them is the user's own message: sending moves the sender's marker, and a new
    member's starts at the room's end. A counter would cost every message a write
    per member (bench/writecost.py); an index of counted messages, an index entry
    per message (bench/ab.py: README)."""
    uncounted = (
        select(func.count())
        .select_from(Message)
        .where(
            Message.room_id == RoomMember.room_id,
            Message.seq > RoomMember.last_read_seq,
            # Literally the index's condition: SQLite uses a partial index only then.
            text(UNCOUNTED),
        )
        .scalar_subquery()
    )
    unread = Room.last_seq - RoomMember.last_read_seq - uncounted
    last_event_at = (
        select(Message.created_at).where(Message.room_id == Room.id, Message.seq == Room.last_seq).scalar_subquery()
    )
    active_at = func.coalesce(last_event_at, Room.created_at)
    rows = await session.execute(
        select(Room, RoomMember.last_read_seq, unread)
        .join(RoomMember, RoomMember.room_id == Room.id)
        .where(RoomMember.user_id == user.id)
        .order_by(active_at.desc(), Room.id.desc())
    )
    return [(room, last_read, count) for room, last_read, count in rows]
