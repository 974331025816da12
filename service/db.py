"""Declarative base, engine factory and the per-request session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

SQLITE_BUSY_TIMEOUT_MS = 30_000


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def create_engine(database_url: str, *, sqlite_synchronous: str = "full", **kwargs: Any) -> AsyncEngine:
    if not database_url.startswith("sqlite"):
        url = make_url(database_url)
        if url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
            # Compiling a plan to machine code pays off for long analytic queries,
            # not for these: it added 20-50 ms to an unread listing (bench/).
            kwargs.setdefault("connect_args", {}).setdefault("server_settings", {}).setdefault("jit", "off")
        return create_async_engine(database_url, pool_pre_ping=True, **kwargs)
    if ":memory:" in database_url or database_url.rstrip("/").endswith(":"):
        kwargs.setdefault("poolclass", StaticPool)
    engine = create_async_engine(database_url, **kwargs)
    _configure_sqlite(engine, sqlite_synchronous)
    return engine


def _configure_sqlite(engine: AsyncEngine, synchronous: str) -> None:
    if synchronous not in ("full", "normal"):
        raise ValueError(f"unknown SQLite synchronous mode {synchronous!r}")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the driver, emits BEGIN (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # FULL syncs the WAL at every commit: an echoed message survives power loss.
        # Group commit makes that one sync per batch, not per message.
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with
        # "database is locked" when another writer got in between; the busy timeout
        # does not apply to that upgrade. IMMEDIATE takes the write lock up front
        # and waits for it instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the handler returns, rolled back on error."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.resources.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": commit before the response is sent, so a 201 means stored.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]
