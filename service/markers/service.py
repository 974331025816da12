"""Moving read markers, and the caller's rooms with their unread counts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, literal, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from service import tables
from service.auth.models import User
from service.db import UTCDateTime
from service.messages.models import UNCOUNTED, Message
from service.paging import MAX_DB_INT
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


@dataclass(frozen=True, slots=True)
class Position:
    """A room's place in the listing: the time of its latest stream entry (or
    its creation), then its id, both descending."""

    active_at: datetime
    room_id: int


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# "<microseconds since 1970 UTC>_<room id>": exact, since both engines keep microseconds.
CURSOR_PATTERN = r"^[0-9]{1,18}_[0-9]{1,19}$"  # ASCII digits only: int() takes others too
_CURSOR = re.compile(r"([0-9]{1,18})_([0-9]{1,19})")
_LAST = datetime.max.replace(tzinfo=UTC)
_LAST_MICROS = (_LAST - _EPOCH) // _MICROSECOND


def encode_cursor(position: Position) -> str:
    return f"{(position.active_at - _EPOCH) // _MICROSECOND}_{position.room_id}"


def decode_cursor(cursor: str) -> Position | None:
    """The position a cursor names; None when it is not in encode_cursor's form. Any
    cursor of that form is a position, beyond the ends included, so what the
    OpenAPI document's pattern admits is always answered."""
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        return None
    micros, room_id = int(match[1]), min(int(match[2]), MAX_DB_INT)
    return Position(_EPOCH + min(micros, _LAST_MICROS) * _MICROSECOND, room_id)


async def my_rooms(
    session: AsyncSession, user: User, limit: int = DEFAULT_MY_ROOMS_PAGE, before: Position | None = None
) -> tuple[list[tuple[Room, int, int]], Position | None]:
    """A page of (room, last_read_seq, unread) for the rooms the user is a member
    of, the most recently active first, below `before`; and the position to ask
    the next page below, None when this page is the last.

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
    (docs/performance.md, "Read markers" and "One-off studies")."""
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
    unread = Room.last_seq - chosen.c.last_read_seq - uncounted
    rows = (
        await session.execute(
            select(Room, chosen.c.last_read_seq, unread, chosen.c.active_at)
            .join(chosen, chosen.c.room_id == Room.id)
            .order_by(chosen.c.active_at.desc(), chosen.c.room_id.desc())
        )
    ).all()
    items = [(room, last_read, count) for room, last_read, count, _ in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last_room, _, _, last_at = rows[limit - 1]
    return items, Position(last_at, last_room.id)
