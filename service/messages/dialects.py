"""The store for an engine, chosen once by its dialect when the writer starts."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from service.messages.postgres_store import PostgresStore
from service.messages.sqlite_store import SQLiteStore
from service.messages.store import EntryStore


def store_for(engine: AsyncEngine, thread_engine: Engine | None = None) -> EntryStore:
    """`thread_engine`: a synchronous engine on the same SQLite file (db.create_thread_engine)."""
    if engine.dialect.name == "sqlite":
        return SQLiteStore(engine, thread_engine)
    return PostgresStore(engine)
