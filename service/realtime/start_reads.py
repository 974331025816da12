"""What new room feeds read (feed_starts.py), in one read transaction: the rooms'
rows, their newest entries, and whether the users opening private rooms are
members of them, so a member's first socket into a private room needs no second
read for its access.

On a SQLite file the whole read runs in a worker thread, on a synchronous engine
of WAL readers (db.create_thread_engine): one hand-off to the thread for the
read, where aiosqlite takes one per step (the BEGIN, the cursor, each execute and
fetch, the cursor's close, the ROLLBACK as the connection goes back to its pool).
There the rooms' rows are read on the driver's cursor, inside the connection's
transaction: Core's execute of that one statement cost 250 µs of the thread's
335, sqlite3's 15. Elsewhere (PostgreSQL, an in-memory SQLite) on a connection
of the async engine."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Row, Select, bindparam, select, tuple_
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from service.messages.entries import StreamEvent
from service.messages.stream_reads import ranges_by_room, ranges_query
from service.rooms.models import Room
from service.tables import room_members
from service.tables import rooms as rooms_table

# room id -> the users opening its feed (admins read every room: never asked about)
Openers = Mapping[int, Collection[int]]


class _RoomRow(NamedTuple):
    """A room's row, by the names Core's Row gives it; its fields are the columns read."""

    id: int
    kind: str
    name: str
    description: str
    private: bool
    owner_id: int | None
    created_at: datetime
    last_seq: int


# What the welcome frame and the room's access need of its row. Built once: building
# and keying the statement anew cost as much as running it.
_COLUMNS = _RoomRow._fields
_ROOMS = select(*(rooms_table.c[name] for name in _COLUMNS)).where(
    rooms_table.c.id.in_(bindparam("room_ids", expanding=True))
)
_ROOMS_SQL = f"SELECT {', '.join(_COLUMNS)} FROM {rooms_table.name} WHERE id IN "


@dataclass(slots=True)
class Start:
    room: Room | None  # None: no such room
    newest: list[StreamEvent] = field(default_factory=list)  # up to `recent` entries, ending at last_seq
    members: frozenset[int] = frozenset()  # of the users opening the private room, its members

    @property
    def last_seq(self) -> int:
        return self.room.last_seq if self.room is not None else 0


async def read(engine: AsyncEngine, room_ids: Sequence[int], openers: Openers, recent: int) -> dict[int, Start]:
    """The rooms' starts, on a connection of the async engine."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_ROOMS, {"room_ids": room_ids})).all()
        ranges = _ranges(rows, recent)
        newest = ranges_by_room(await conn.execute(ranges_query(ranges)), ranges) if ranges else {}
        pairs = _asked(rows, openers)
        members = (await conn.execute(_members(pairs))).all() if pairs else []
    return _starts(room_ids, rows, newest, members)


def read_in_thread(engine: Engine, room_ids: Sequence[int], openers: Openers, recent: int) -> dict[int, Start]:
    """The same, on a synchronous engine's connection, in the calling (worker) thread."""
    with engine.connect() as conn:
        conn.begin()  # a WAL reader's BEGIN (db.py): one snapshot for every query below
        rows = _room_rows(conn, room_ids)
        ranges = _ranges(rows, recent)
        newest = ranges_by_room(conn.execute(ranges_query(ranges)), ranges) if ranges else {}
        pairs = _asked(rows, openers)
        members = conn.execute(_members(pairs)).all() if pairs else []
    return _starts(room_ids, rows, newest, members)


def _room_rows(conn: Connection, room_ids: Sequence[int]) -> list[_RoomRow]:
    """_ROOMS on the driver's cursor, its values as Core's would be (bool, aware datetime)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        raw = cursor.execute(_ROOMS_SQL + f"({', '.join('?' * len(room_ids))})", tuple(room_ids)).fetchall()
    finally:
        cursor.close()
    processors = _processors(conn.dialect)
    return [_RoomRow._make(v if p is None else p(v) for p, v in zip(processors, row, strict=True)) for row in raw]


@cache
def _processors(dialect: Dialect) -> tuple[Callable[[Any], Any] | None, ...]:
    return tuple(rooms_table.c[name].type.dialect_impl(dialect).result_processor(dialect, None) for name in _COLUMNS)


def _ranges(rows: Sequence[Any], recent: int) -> list[tuple[int, int, int]]:
    """(room, after, upto) of each room's newest `recent` entries."""
    return [(r.id, max(0, r.last_seq - recent), r.last_seq) for r in rows if r.last_seq]


def _asked(rows: Sequence[Any], openers: Openers) -> list[tuple[int, int]]:
    """(room, user) of the users opening a private room: public rooms need no member."""
    return [(r.id, user_id) for r in rows if r.private for user_id in openers.get(r.id, ())]


def _members(pairs: list[tuple[int, int]]) -> Select[Any]:
    key = tuple_(room_members.c.room_id, room_members.c.user_id)
    return select(room_members.c.room_id, room_members.c.user_id).where(key.in_(pairs))


def _starts(
    room_ids: Sequence[int],
    rows: Sequence[Sequence[Any]],
    newest: dict[int, list[StreamEvent]],
    members: Sequence[Row[Any]],
) -> dict[int, Start]:
    starts = {room_id: Start(None) for room_id in room_ids}
    member_of: dict[int, set[int]] = {}
    for member in members:
        member_of.setdefault(member.room_id, set()).add(member.user_id)
    for row in rows:
        room = Room(**dict(zip(_COLUMNS, row, strict=True)))  # not in any session: read, never written
        starts[room.id] = Start(room, newest.get(room.id, []), frozenset(member_of.get(room.id, ())))
    return starts
