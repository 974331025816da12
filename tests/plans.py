"""SQLite's plans of the statements the service runs: a query-plan test runs the
service's own code on a copy of the migrated database and reads each statement's
EXPLAIN QUERY PLAN."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import create_engine, create_sessionmaker

Run = Callable[[AsyncSession], Awaitable[object]]


async def plans_of(migrated_template: Path, tmp_path: Path, run: Run) -> dict[str, list[str]]:
    """Each statement `run` executes (transaction control left out), with its plan."""
    path = tmp_path / "plans.db"
    path.write_bytes(migrated_template.read_bytes())
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    seen: list[tuple[str, object]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def capture(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append((statement, params))

    async with create_sessionmaker(engine)() as session:
        await run(session)
        await session.rollback()
    await engine.dispose()
    with sqlite3.connect(path) as conn:
        return {s: [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + s, p)] for s, p in seen}  # type: ignore[arg-type]
