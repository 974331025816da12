"""How far each read replica is behind the primary, measured in WAL positions.

Every check reads the primary's `pg_current_wal_lsn()` and each replica's
`pg_last_wal_replay_lsn()`. A replica that has replayed the primary's position is
caught up (lag 0), however long ago the primary last wrote: an idle primary does
not read as lagging, as `now() - pg_last_xact_replay_timestamp()` would. Else its
lag is the time since the primary first stood at a position the replica has not
replayed yet, from the positions of recent checks."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

CHECK_TIMEOUT_SECONDS = 2.0

_REPLAY = text("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
_CURRENT = text("SELECT pg_current_wal_lsn()::text")


def lsn(value: str) -> int:
    """A WAL position `X/Y` as one number, to compare and subtract."""
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


async def primary_position(conn: AsyncConnection) -> int:
    return lsn((await conn.execute(_CURRENT)).scalar_one())


@dataclass(frozen=True, slots=True)
class Replayed:
    standby: bool  # False: promoted, no longer following the primary
    position: int | None  # None: not replaying WAL (a primary)


async def replayed(conn: AsyncConnection) -> Replayed:
    standby, position = (await conn.execute(_REPLAY)).one()
    return Replayed(bool(standby), None if position is None else lsn(position))


class PrimaryPositions:
    """The primary's positions of the last `keep_seconds`, each with when it was first seen."""

    def __init__(self, keep_seconds: float) -> None:
        self._keep = keep_seconds
        self._seen: deque[tuple[float, int]] = deque()

    def add(self, position: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if not self._seen or position > self._seen[-1][1]:
            self._seen.append((now, position))
        while len(self._seen) > 1 and self._seen[0][0] < now - self._keep:
            self._seen.popleft()

    def lag(self, replayed: int, now: float | None = None) -> float:
        """Seconds since the primary first stood past `replayed`; 0 when it never did."""
        now = time.monotonic() if now is None else now
        for seen_at, position in self._seen:
            if position > replayed:
                return max(0.0, now - seen_at)
        return 0.0
