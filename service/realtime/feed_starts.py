"""Where a room's new feed starts: the room's row, its position and its newest entries.

Feeds opened at about the same moment (the reconnect storm after a deploy, a
`subscribe` frame of many rooms, many rooms' first sockets) are read together,
in one transaction of two queries for up to BATCH_MAX rooms, instead of two
queries per room: a query's fixed cost (a connection, a transaction, the thread
hand-offs of SQLite's driver) is about a millisecond of CPU here, a room's rows a
few tens of microseconds (bench/run.py --scenarios quiet). Nothing waits to form a batch: the
rooms asked for while one is read make the next."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.messages.entries import StreamEvent
from service.messages.stream_reads import read_ranges
from service.rooms.models import Room
from service.tables import rooms as rooms_table

BATCH_MAX = 200
# What the welcome frame and the room's access need of its row.
_ROOMS = select(
    *(
        rooms_table.c[name]
        for name in ("id", "kind", "name", "description", "private", "owner_id", "created_at", "last_seq")
    )
)


@dataclass(slots=True)
class Start:
    room: Room | None  # None: no such room
    newest: list[StreamEvent] = field(default_factory=list)  # up to `recent` entries, ending at last_seq

    @property
    def last_seq(self) -> int:
        return self.room.last_seq if self.room is not None else 0


class FeedStarts:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], recent: int) -> None:
        self._sessionmaker = sessionmaker
        self._recent = recent
        self._waiting: dict[int, asyncio.Future[Start]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def read(self, room_id: int) -> Start:
        """The room as committed now. The caller subscribed to the room's channel
        first: whatever commits after this read arrives through the broker."""
        future = self._waiting.get(room_id)
        if future is None:
            future = self._waiting[room_id] = asyncio.get_running_loop().create_future()
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_all(), name="feed-starts")
        return await future

    async def _read_all(self) -> None:
        try:
            while self._waiting:
                batch = dict(itertools.islice(self._waiting.items(), BATCH_MAX))
                for room_id in batch:
                    del self._waiting[room_id]
                try:
                    starts = await self._read_batch(list(batch))
                except Exception as exc:
                    for future in batch.values():
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for room_id, future in batch.items():
                    if not future.done():  # its opener may have been cancelled
                        future.set_result(starts[room_id])
        finally:
            self._reader = None

    async def _read_batch(self, room_ids: list[int]) -> dict[int, Start]:
        # Plain rows on a connection, no session: the ORM's session, query and
        # identity map cost a new room's first socket about as much again as the
        # rest of its connect.
        engine: AsyncEngine = self._sessionmaker.kw["bind"]
        async with engine.connect() as conn:
            rows = (await conn.execute(_ROOMS.where(rooms_table.c.id.in_(room_ids)))).all()
            ranges = [(r.id, max(0, r.last_seq - self._recent), r.last_seq) for r in rows if r.last_seq]
            newest = await read_ranges(conn, ranges)
        rooms = [Room(**r._mapping) for r in rows]  # not in any session: read, never written
        starts = {room_id: Start(None) for room_id in room_ids}
        for room in rooms:
            starts[room.id] = Start(room, newest.get(room.id, []))
        return starts
