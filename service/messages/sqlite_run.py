"""Statements straight to SQLite's driver: a transaction of its own (BEGIN
IMMEDIATE … COMMIT), or the same statements inside a SQLAlchemy transaction."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# A statement and its parameters -> its rows.
Run = Callable[[str, Sequence[object]], Awaitable[Iterable[Sequence[object]]]]


@contextlib.asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[Run]:
    """BEGIN IMMEDIATE … COMMIT on the driver itself."""
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        run: Run = driver.execute_fetchall
        try:
            await run("BEGIN IMMEDIATE", ())
            yield run
            await run("COMMIT", ())
        except BaseException:
            # A cancel can arrive after the COMMIT ran in the driver's thread: then
            # there is nothing to roll back, and the cancel must still propagate.
            if driver.in_transaction:
                with contextlib.suppress(Exception):
                    await asyncio.shield(run("ROLLBACK", ()))
            raise


def through(conn: AsyncConnection) -> Run:
    """The same statements inside a SQLAlchemy transaction."""

    async def run(sql: str, params: Sequence[object]) -> Iterable[Sequence[object]]:
        result = await conn.exec_driver_sql(sql, tuple(params))
        return result.all() if result.returns_rows else []

    return run
