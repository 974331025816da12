"""One read replica: its engine, and what its last lag check found."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.db import create_engine, create_sessionmaker
from service.replicas import lag

log = logging.getLogger(__name__)

# A replica's own pool, as the primary's read pool (db.py); a replica that is down
# refuses within CONNECT_TIMEOUT_SECONDS and its reads go to the primary.
REPLICA_POOL: dict[str, Any] = {"pool_size": 5, "max_overflow": 5}
CONNECT_TIMEOUT_SECONDS = 2.0
POOL_TIMEOUT_SECONDS = 2.0


class Replica:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        # Host, port and database: enough to tell replicas apart, never the password.
        self.name = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
        self.engine: AsyncEngine = create_engine(
            url,
            read_only=True,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
            **REPLICA_POOL,
        )
        self.sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)
        self.up = False  # until the first check finds it answering as a standby
        self.lag_seconds: float | None = None
        self.problem = "not checked yet"

    def usable(self, max_lag_seconds: float) -> bool:
        return self.up and self.lag_seconds is not None and self.lag_seconds <= max_lag_seconds

    def failed(self) -> None:
        """A read on it failed: skipped until the next check finds it answering."""
        self.up = False
        self.problem = "a read failed"

    async def check(self, positions: lag.PrimaryPositions) -> None:
        try:
            async with asyncio.timeout(lag.CHECK_TIMEOUT_SECONDS), self.engine.connect() as conn:
                replayed = await lag.replayed(conn)
        except Exception as exc:  # noqa: BLE001 - whatever failed, the replica is not usable now
            if self.up:
                log.warning("read replica %s is unreachable: %s", self.name, exc)
            self.up, self.lag_seconds, self.problem = False, None, f"unreachable: {type(exc).__name__}"
            return
        if not replayed.standby or replayed.position is None:
            # Promoted, or never a standby: it no longer follows this primary.
            self.up, self.lag_seconds, self.problem = False, None, "not a standby"
            return
        self.up, self.problem = True, ""
        self.lag_seconds = positions.lag(replayed.position)
