"""The store for an engine, chosen by its dialect: once by the writer when it
starts, and by store_batch for messages stored without a writer (nothing is
published)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from service.messages.entries import StoreResult
from service.messages.postgres_store import PostgresStore
from service.messages.sqlite_store import SQLiteStore
from service.messages.store import EntryStore, Pending


def store_for(engine: AsyncEngine) -> EntryStore:
    if engine.dialect.name == "sqlite":
        return SQLiteStore(engine)
    return PostgresStore(engine)


async def store_batch(
    engine: AsyncEngine, batch: list[Pending], *, look_up_repeats: bool = True
) -> list[StoreResult | BaseException]:
    """A batch in one transaction; a result (or RoomGone) per message, in order."""
    return await store_for(engine).store_sends(sends=batch, look_up_repeats=look_up_repeats)
