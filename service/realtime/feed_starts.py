"""Where a room's new feed starts: the room's row, its position and its newest entries.

Feeds opened at about the same moment (the reconnect storm after a deploy, a
`subscribe` frame of many rooms, many rooms' first sockets) are read together,
in one transaction of two queries for up to BATCH_MAX rooms (a third when a
private room's opener is asked about), instead of two queries per room: a
query's fixed cost (a connection, a transaction, the thread hand-offs of SQLite's
driver) is about a millisecond of CPU here, a room's rows a few tens of
microseconds (bench/run.py --scenarios quiet). On a SQLite file the transaction
is one hand-off to a worker thread (start_reads.py). Nothing waits to form a
batch: the rooms asked for while one is read make the next."""

from __future__ import annotations

import asyncio
import itertools

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.realtime import start_reads
from service.realtime.start_reads import Start

BATCH_MAX = 200


class FeedStarts:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        recent: int,
        thread_engine: Engine | None = None,  # a SQLite file's WAL readers (start_reads.py)
    ) -> None:
        self._engine: AsyncEngine = sessionmaker.kw["bind"]
        self.thread_engine = thread_engine
        self._recent = recent
        self._waiting: dict[int, asyncio.Future[Start]] = {}
        self._openers: dict[int, set[int]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def read(self, room_id: int, opener: int | None = None) -> Start:
        """The room as committed now, and whether `opener` (a user not an admin,
        opening a private room) is a member. The caller subscribed to the room's
        channel first: whatever commits after this read arrives through the broker."""
        future = self._waiting.get(room_id)
        if future is None:
            future = self._waiting[room_id] = asyncio.get_running_loop().create_future()
        if opener is not None:
            self._openers.setdefault(room_id, set()).add(opener)
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_all(), name="feed-starts")
        return await future

    async def _read_all(self) -> None:
        try:
            while self._waiting:
                batch = dict(itertools.islice(self._waiting.items(), BATCH_MAX))
                openers = {}
                for room_id in batch:
                    del self._waiting[room_id]
                    openers[room_id] = self._openers.pop(room_id, set())
                try:
                    starts = await self._read_batch(list(batch), openers)
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

    async def _read_batch(self, room_ids: list[int], openers: dict[int, set[int]]) -> dict[int, Start]:
        # Plain rows, no session: the ORM's session, query and identity map cost a
        # new room's first socket about as much again as the rest of its connect.
        if self.thread_engine is not None:
            return await asyncio.to_thread(
                start_reads.read_in_thread, self.thread_engine, room_ids, openers, self._recent
            )
        return await start_reads.read(self._engine, room_ids, openers, self._recent)
