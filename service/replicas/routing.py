"""Routed reads: a read that may be answered by a replica is, when one is usable
and has everything the read must see; otherwise, or when the replica fails, the
primary answers it. What each routed read must see is in docs/architecture.md
("Read replicas").

A read names what it must see, its `Freshness`:
- a room's page (`RoomFresh`): every entry of the room up to the room's
  `last_seq` as the primary's access check read it. Every change to a room's
  messages (send, edit, delete, reaction, pin, reply) takes the next seq in the
  same transaction, so a replica whose row of the room has that `last_seq` has
  the room as the primary had it then;
- anything else (`PRIMARY_POSITION`): the primary's WAL position when the read
  began, so a replica answers only once it has replayed every commit before the
  request, memberships and read markers included."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service import tables
from service.metrics import Metrics
from service.replicas import lag
from service.replicas.standby import Replica

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RoomFresh:
    room_id: int
    last_seq: int  # as the primary read it for the access check


class _PrimaryPosition:
    pass


PRIMARY_POSITION = _PrimaryPosition()
Freshness = RoomFresh | _PrimaryPosition


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    up: bool  # answers, as a standby of the primary
    usable: bool  # up and within CHAT_REPLICA_MAX_LAG_SECONDS: reads may go to it
    lag_seconds: float | None  # None while it does not answer
    problem: str | None


class Reads:
    """The read replicas of one process, their lag checks, and the routed reads."""

    def __init__(
        self, primary: AsyncEngine, replicas: Sequence[Replica], max_lag_seconds: float, metrics: Metrics
    ) -> None:
        self.replicas = tuple(replicas)
        self._primary = primary
        self._max_lag = max_lag_seconds
        self._metrics = metrics
        self._positions = lag.PrimaryPositions(keep_seconds=max(10.0, 4 * max_lag_seconds))
        self._turn = itertools.cycle(range(len(self.replicas) or 1))
        self._task: asyncio.Task[None] | None = None
        # Often enough that a replica coming back or falling behind is seen well within the bound.
        self.check_seconds = min(1.0, max_lag_seconds / 4)

    async def read(self, primary: AsyncSession, run: Callable[[AsyncSession], Awaitable[T]], fresh: Freshness) -> T:
        """`run` on a usable replica that has what `fresh` names, else on `primary`
        (the request's own session, whose access checks ran already)."""
        replica = self._pick()
        if replica is None:
            if self.replicas:
                self._metrics.replica_fallbacks.labels("none_usable").inc()
            return await run(primary)
        # On the primary, before the replica is tried: a failure here is the primary's.
        position = await lag.primary_position(await primary.connection()) if fresh is PRIMARY_POSITION else None
        # Hand the primary's connection back while the replica reads.
        await primary.commit()
        try:
            async with replica.sessions() as session:
                if await _has(session, fresh, position):
                    result = await run(session)
                    self._metrics.replica_reads.labels(replica.name).inc()
                    return result
            self._metrics.replica_fallbacks.labels("behind").inc()
        # The replica failed, or its pool had no connection in time; not the read.
        except (OSError, TimeoutError, DBAPIError, PoolTimeout):
            log.warning("read replica %s failed; reading from the primary", replica.name, exc_info=True)
            replica.failed()
            self._metrics.replica_up.labels(replica.name).set(0)
            self._metrics.replica_fallbacks.labels("error").inc()
        return await run(primary)

    def _pick(self) -> Replica | None:
        for _ in self.replicas:
            replica = self.replicas[next(self._turn)]
            if replica.usable(self._max_lag):
                return replica
        return None

    def status(self) -> dict[str, ReplicaStatus]:
        """What the last checks found, for /readyz."""
        return {
            r.name: ReplicaStatus(
                up=r.up, usable=r.usable(self._max_lag), lag_seconds=r.lag_seconds, problem=r.problem or None
            )
            for r in self.replicas
        }

    def start(self) -> None:
        if self.replicas:
            self._task = asyncio.create_task(self._watch(), name="replica-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for replica in self.replicas:
            await replica.engine.dispose()

    async def check(self) -> None:
        """One lag check of every replica against the primary's current position."""
        try:
            async with asyncio.timeout(lag.CHECK_TIMEOUT_SECONDS), self._primary.connect() as conn:
                self._positions.add(await lag.primary_position(conn))
        except Exception:  # noqa: BLE001 - the primary's own health is /readyz's; keep the last positions
            log.warning("the primary's WAL position could not be read", exc_info=True)
        await asyncio.gather(*(replica.check(self._positions) for replica in self.replicas))
        for replica in self.replicas:
            self._metrics.replica_up.labels(replica.name).set(1 if replica.usable(self._max_lag) else 0)
            # NaN while it does not answer: no lag is known, and 0 would read as caught up.
            lag_seconds = math.nan if replica.lag_seconds is None else replica.lag_seconds
            self._metrics.replica_lag_seconds.labels(replica.name).set(lag_seconds)

    async def _watch(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.check_seconds)


async def _has(session: AsyncSession, fresh: Freshness, position: int | None) -> bool:
    if isinstance(fresh, RoomFresh):
        rooms = tables.rooms
        last_seq = await session.scalar(select(rooms.c.last_seq).where(rooms.c.id == fresh.room_id))
        return last_seq is not None and last_seq >= fresh.last_seq
    replayed = await lag.replayed(await session.connection())
    return position is not None and replayed.position is not None and replayed.position >= position
