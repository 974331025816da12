"""Declarative base, engine factory and the per-request session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import BigInteger, DateTime, Engine, Integer, MetaData, event
from sqlalchemy import create_engine as create_sync_engine
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


def create_engine(
    database_url: str, *, sqlite_synchronous: str = "full", read_only: bool = False, **kwargs: Any
) -> AsyncEngine:
    """An engine whose transactions may write; with `read_only`, one whose
    transactions never do (and fail loudly if they try)."""
    if not database_url.startswith("sqlite"):
        url = make_url(database_url)
        if url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
            settings = kwargs.setdefault("connect_args", {}).setdefault("server_settings", {})
            # Compiling a plan to machine code pays off for long analytic queries,
            # not for these: it added 20-50 ms to an unread listing (bench/).
            settings.setdefault("jit", "off")
            if read_only:
                settings.setdefault("default_transaction_read_only", "on")
        return create_async_engine(database_url, pool_pre_ping=True, **kwargs)
    if _in_memory(database_url):
        kwargs.setdefault("poolclass", StaticPool)
    engine = create_async_engine(database_url, **kwargs)
    _configure_sqlite(engine.sync_engine, sqlite_synchronous, read_only=read_only)
    return engine


def create_thread_engine(
    database_url: str, *, sqlite_synchronous: str = "full", read_only: bool = False
) -> Engine | None:
    """For a SQLite file: a synchronous engine on the same file, configured alike,
    whose connections a worker thread uses (the message writer's changes; with
    `read_only`, WAL readers: a new room feed's first read); None elsewhere. Any
    thread may use a connection, one at a time, as the pool hands it."""
    if not database_url.startswith("sqlite") or _in_memory(database_url):
        return None
    url = make_url(database_url).set(drivername="sqlite")
    pool = THREAD_READ_POOL if read_only else WRITER_POOL
    engine = create_sync_engine(url, connect_args={"check_same_thread": False}, **pool)
    _configure_sqlite(engine, sqlite_synchronous, read_only=read_only)
    return engine


def _in_memory(database_url: str) -> bool:
    return ":memory:" in database_url or database_url.rstrip("/").endswith(":")


def _configure_sqlite(engine: Engine, synchronous: str, *, read_only: bool) -> None:
    if synchronous not in ("full", "normal"):
        raise ValueError(f"unknown SQLite synchronous mode {synchronous!r}")

    @event.listens_for(engine, "connect")
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
        if read_only:
            # A write from a read transaction fails at once instead of taking the lock.
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if read_only:
            # A WAL reader: it sees the last commit and neither waits for the
            # writer nor holds it up.
            conn.exec_driver_sql("BEGIN")
            return
        # A deferred transaction that reads and then writes fails at once with
        # "database is locked" when another writer got in between; the busy timeout
        # does not apply to that upgrade. IMMEDIATE takes the write lock up front
        # and waits for it instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


# Each engine has its own pool, so no number of reads (or REST writes) leaves the
# message writer without a connection. On PostgreSQL an instance opens at most
# 10 + 5 + 2 = 17 connections (docs/operations.md).
READ_POOL: dict[str, Any] = {"pool_size": 5, "max_overflow": 5}
WRITE_POOL: dict[str, Any] = {"pool_size": 3, "max_overflow": 2}
WRITER_POOL: dict[str, Any] = {"pool_size": 2, "max_overflow": 0}
# Reads in a worker thread are read one batch after another (realtime/feed_starts.py).
THREAD_READ_POOL: dict[str, Any] = {"pool_size": 2, "max_overflow": 0}
# A read that finds every connection busy this long is answered 503 (errors.py).
READ_POOL_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Databases:
    """The engines of one process: reads, REST writes, and the message writer's own."""

    read_engine: AsyncEngine
    write_engine: AsyncEngine
    writer_engine: AsyncEngine
    reads: async_sessionmaker[AsyncSession]
    writes: async_sessionmaker[AsyncSession]
    writer_thread_engine: Engine | None = None  # a SQLite file's, for the writer's worker thread
    read_thread_engine: Engine | None = None  # a SQLite file's, WAL readers for a worker thread

    async def dispose(self) -> None:
        for engine in {id(e): e for e in (self.read_engine, self.write_engine, self.writer_engine)}.values():
            await engine.dispose()
        for thread_engine in (self.writer_thread_engine, self.read_thread_engine):
            if thread_engine is not None:
                thread_engine.dispose()


def open_databases(database_url: str, *, sqlite_synchronous: str = "full") -> Databases:
    if database_url.startswith("sqlite") and _in_memory(database_url):
        # One connection holds the whole database: every role shares it.
        engine = create_engine(database_url, sqlite_synchronous=sqlite_synchronous)
        sessions = create_sessionmaker(engine)
        return Databases(engine, engine, engine, sessions, sessions)
    read_engine = create_engine(
        database_url,
        sqlite_synchronous=sqlite_synchronous,
        read_only=True,
        pool_timeout=READ_POOL_TIMEOUT_SECONDS,
        **READ_POOL,
    )
    write_engine = create_engine(database_url, sqlite_synchronous=sqlite_synchronous, **WRITE_POOL)
    writer_engine = create_engine(database_url, sqlite_synchronous=sqlite_synchronous, **WRITER_POOL)
    return Databases(
        read_engine,
        write_engine,
        writer_engine,
        create_sessionmaker(read_engine),
        create_sessionmaker(write_engine),
        create_thread_engine(database_url, sqlite_synchronous=sqlite_synchronous),
        create_thread_engine(database_url, sqlite_synchronous=sqlite_synchronous, read_only=True),
    )


# Methods whose handlers only read: their session is a read transaction.
READ_METHODS = frozenset({"GET", "HEAD"})


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the handler returns, rolled back on
    error. A GET or HEAD reads beside the writers; any other method may write."""
    state = request.app.state  # what the lifespan built (main.py), each under its own name
    sessionmaker: async_sessionmaker[AsyncSession] = (
        state.reads if request.method in READ_METHODS else state.sessionmaker
    )
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": commit before the response is sent, so a 201 means stored.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]
