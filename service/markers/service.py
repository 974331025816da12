"""Moving read markers, and the caller's rooms with their unread and mention counts."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Row, case, func, literal, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from service import tables
from service.auth.models import User
from service.db import UTCDateTime
from service.markers import counts
from service.markers.cursors import Position
from service.messages.models import UNCOUNTED, Message
from service.rooms.models import Room, RoomMember

DEFAULT_MY_ROOMS_PAGE = 200
MAX_MY_ROOMS_PAGE = 500

_members = tables.room_members
_rooms = tables.rooms


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


class ListedRoom(NamedTuple):
    room: Row[Any]  # the rooms row: RoomOut's fields
    last_read_seq: int
    unread: int
    mentions: int


async def my_rooms(
    session: AsyncSession, user: User, limit: int = DEFAULT_MY_ROOMS_PAGE, before: Position | None = None
) -> tuple[list[ListedRoom], Position | None]:
    """A page of the rooms the user is a member of, the most recently active first,
    below `before`; and the position to ask the next page below, None when this
    page is the last.

    The page is chosen first, from each membership's room and latest stream
    entry (by primary key and by the unique (room_id, seq)); only its rooms are
    loaded and counted. Without a stored activity time no index gives this order,
    so each page still looks at every membership of the user, two lookups each.

    Unread is counted, not kept: seq is gapless, so last_seq - last_read_seq entries
    lie above the marker, less the events and deleted messages among them (the
    partial index ix_messages_uncounted, which plain messages never enter). None of
    them is the user's own message: sending moves the sender's marker, and a new
    member's starts at the room's end. A counter would cost every message a write
    per member; an index of counted messages, an index entry per message
    (docs/performance.md, "Read markers" and "One-off studies").

    Mentions are counted from their own indexes (counts.py): the messages above
    the marker that name the user, and those that say `@room`."""
    last_event_at = (
        select(Message.created_at).where(Message.room_id == Room.id, Message.seq == Room.last_seq).scalar_subquery()
    )
    listed = (
        select(
            RoomMember.room_id.label("room_id"),
            RoomMember.last_read_seq.label("last_read_seq"),
            func.coalesce(last_event_at, Room.created_at).label("active_at"),
        )
        .join(Room, Room.id == RoomMember.room_id)
        .where(RoomMember.user_id == user.id)
        .subquery("listed")
    )
    page = select(listed)
    if before is not None:
        # A row-value comparison: SQLite looks up each room's latest entry once for it, not twice.
        key = tuple_(listed.c.active_at, listed.c.room_id)
        page = page.where(key < tuple_(literal(before.active_at, UTCDateTime()), literal(before.room_id)))
    # A subquery with its LIMIT: neither engine folds it into the outer query, so
    # the counting below runs for the page's rows only.
    chosen = page.order_by(listed.c.active_at.desc(), listed.c.room_id.desc()).limit(limit + 1).subquery("chosen")
    uncounted = (
        select(func.count())
        .select_from(Message)
        .where(
            Message.room_id == chosen.c.room_id,
            Message.seq > chosen.c.last_read_seq,
            # Literally the index's condition: SQLite uses a partial index only then.
            text(UNCOUNTED),
        )
        .scalar_subquery()
    )
    unread = _rooms.c.last_seq - chosen.c.last_read_seq - uncounted
    # A read room has no mentions to count: both lookups are skipped for it.
    mentions = case(
        (_rooms.c.last_seq == chosen.c.last_read_seq, 0),
        else_=counts.named(chosen.c.room_id, None, chosen.c.last_read_seq, user.id)
        + counts.everyone(chosen.c.room_id, None, chosen.c.last_read_seq, user.id),
    )
    rows = (
        await session.execute(
            # Core rows, not Room entities: building 200 ORM instances cost more than counting.
            select(
                _rooms, chosen.c.last_read_seq, unread.label("unread"), mentions.label("mentions"), chosen.c.active_at
            )
            .join(chosen, chosen.c.room_id == _rooms.c.id)
            .order_by(chosen.c.active_at.desc(), chosen.c.room_id.desc())
        )
    ).all()
    items = [ListedRoom(row, row.last_read_seq, row.unread, row.mentions) for row in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last = rows[limit - 1]
    return items, Position(last.active_at, last.id)
