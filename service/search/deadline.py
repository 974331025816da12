"""A search's time budget, kept by the database itself.

PostgreSQL cancels a statement that runs past its `statement_timeout`, set
before each statement to what is left of the budget, for this transaction only.
SQLite has no such setting: at the deadline the event loop interrupts the
connection (sqlite3_interrupt, made to be called from another thread), and the
running statement stops at its next step. Either way the search's transaction
is then rolled back by the request's session and its connection is reusable;
the client gets 503 with Retry-After."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Unavailable

TIMED_OUT = "the search took too long; narrow it or retry later"
_QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a cancelled statement
_SET_TIMEOUT = text("SELECT set_config('statement_timeout', :ms, true)")
_UNSET_TIMEOUT = text("SET LOCAL statement_timeout TO DEFAULT")


class Budget:
    def __init__(self, session: AsyncSession, timeout_ms: int, postgres: bool) -> None:
        self._session = session
        self._postgres = postgres
        self._deadline = time.monotonic() + timeout_ms / 1000

    def left_ms(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)

    async def statement(self) -> None:
        """Before each statement of the search: the time it may take, or 503 when none is left."""
        left = self.left_ms()
        if left < 1:
            raise Unavailable(TIMED_OUT)
        if self._postgres:
            await self._session.execute(_SET_TIMEOUT, {"ms": str(left)})


@asynccontextmanager
async def time_limit(session: AsyncSession, timeout_ms: int) -> AsyncIterator[Budget]:
    """Statements run inside, each after `await budget.statement()`, are cut off
    in the database `timeout_ms` after entering: Unavailable."""
    conn = await session.connection()
    postgres = conn.dialect.name == "postgresql"
    budget = Budget(session, timeout_ms, postgres)
    watch = None
    if not postgres:
        driver = (await conn.get_raw_connection()).driver_connection
        watch = asyncio.create_task(_interrupt_at(driver, timeout_ms / 1000))
    try:
        yield budget
        if postgres:
            # What is left of the budget must not cut off the rest of the request's transaction.
            await session.execute(_UNSET_TIMEOUT)
    except DBAPIError as exc:
        if _cut_off(exc):
            raise Unavailable(TIMED_OUT) from exc
        raise
    finally:
        # Cancelled before the connection runs anything else: an interrupt never
        # reaches a statement that is not this search's.
        if watch is not None:
            watch.cancel()


async def _interrupt_at(driver: Any, seconds: float) -> None:
    await asyncio.sleep(seconds)
    # aiosqlite calls sqlite3's interrupt() here, on the loop, not in its own
    # thread (where it would wait for the very statement it is to stop).
    await driver.interrupt()


def _cut_off(exc: DBAPIError) -> bool:
    orig = exc.orig
    if getattr(orig, "pgcode", None) == _QUERY_CANCELED:
        return True
    return getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT
