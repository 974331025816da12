"""The one place that assigns `seq` and inserts messages.

Messages from every connection go through one writer task, which stores what
arrived meanwhile in one transaction (group commit), publishes each new message
after that commit, and only then answers the senders."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import orjson
from sqlalchemy import Table, bindparam, case, insert, select, tuple_, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from service.auth.models import User
from service.db import utcnow
from service.messages.models import Message
from service.rooms.models import Room

log = logging.getLogger("service.messages")

_messages: Table = Message.__table__  # type: ignore[assignment]
_rooms: Table = Room.__table__  # type: ignore[assignment]
# A repeated client_msg_id, through SQLAlchemy or straight from the SQLite driver.
REPEATED = (IntegrityError, sqlite3.IntegrityError)


class RoomGone(Exception):
    """The room was deleted before the message could be stored."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A committed message, as plain values (what frames and history are made of)."""

    id: int
    room_id: int
    seq: int
    user_id: int
    username: str
    body: str
    client_msg_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoreResult:
    message: StoredMessage
    created: bool  # False: a repeat of an earlier client_msg_id; nothing new stored


@dataclass(slots=True)
class _Pending:
    room_id: int
    user_id: int
    username: str | None
    body: str
    client_msg_id: str | None
    future: asyncio.Future[StoreResult] | None = None


OnStored = Callable[[Sequence[StoredMessage]], Awaitable[None]]


async def store_message(
    engine: AsyncEngine, room_id: int, user_id: int, body: str, client_msg_id: str | None = None
) -> StoreResult:
    """Store one message in its own transaction (no publishing)."""
    pending = _Pending(room_id, user_id, None, body, client_msg_id)
    try:
        result = (await _store_batch(engine, [pending]))[0]
    except REPEATED:
        # A concurrent send with the same client_msg_id committed first; look again.
        result = (await _store_batch(engine, [pending]))[0]
    if isinstance(result, BaseException):
        raise result
    return result


class MessageWriter:
    """Group commit: up to `max_batch` queued messages per transaction; a batch of
    1 is one commit per message. `on_stored` runs after each commit, before any
    sender is answered."""

    def __init__(self, engine: AsyncEngine, max_batch: int, on_stored: OnStored | None = None) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._on_stored = on_stored
        self._queue: deque[_Pending] = deque()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="message-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for pending in self._queue:
            _fail(pending, RuntimeError("the service is shutting down"))
        self._queue.clear()

    def submit(
        self, room_id: int, user_id: int, username: str | None, body: str, client_msg_id: str | None = None
    ) -> asyncio.Future[StoreResult]:
        """Queue a message; the future resolves after its commit (and publish)."""
        future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(room_id, user_id, username, body, client_msg_id, future))
        self._ready.set()
        return future

    async def store(
        self, room_id: int, user_id: int, body: str, client_msg_id: str | None = None, username: str | None = None
    ) -> StoreResult:
        return await self.submit(room_id, user_id, username, body, client_msg_id)

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                count = min(len(self._queue), self._max_batch)
                await self._store([self._queue.popleft() for _ in range(count)])

    async def _store(self, batch: list[_Pending]) -> None:
        try:
            results = await _store_batch(self._engine, batch, look_up_repeats=False)
        except REPEATED:
            # A repeated client_msg_id (a client retrying): one by one, looking repeats up.
            results = []
            for pending in batch:
                try:
                    results += await _store_batch(self._engine, [pending])
                except Exception as exc:
                    results.append(exc)
        except Exception as exc:
            results = [exc] * len(batch)
        if self._on_stored is not None:
            new = [r.message for r in results if isinstance(r, StoreResult) and r.created]
            if new:
                try:
                    await self._on_stored(new)
                except Exception:
                    log.exception("publishing stored messages failed")
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                _fail(pending, result)
            elif pending.future is not None and not pending.future.done():
                pending.future.set_result(result)


def _fail(pending: _Pending, exc: BaseException) -> None:
    if pending.future is not None and not pending.future.done():
        pending.future.set_exception(exc)


async def _store_batch(
    engine: AsyncEngine, batch: list[_Pending], *, look_up_repeats: bool = True
) -> list[StoreResult | BaseException]:
    """Store a batch in one transaction; a result (or RoomGone) per item, in order.

    Without `look_up_repeats`, a client_msg_id stored before raises IntegrityError
    (the unique constraint) instead of costing a query on every batch."""
    results: list[StoreResult | BaseException | None] = [None] * len(batch)
    if engine.dialect.name == "sqlite" and not look_up_repeats and all(p.username for p in batch):
        fresh, repeats = _sort_out(batch, {}, results)
        if fresh:
            await _store_sqlite(engine, batch, fresh, results)
    else:
        async with engine.begin() as conn:
            existing = await _existing(conn, batch) if look_up_repeats else {}
            fresh, repeats = _sort_out(batch, existing, results)
            if fresh:
                ids: Sequence[int]
                if conn.dialect.name == "sqlite":
                    now = utcnow()
                    placed, ids = await _insert_sqlite(_driver_sql(conn), conn.dialect, batch, fresh, results, now)
                else:
                    placed, ids, now = await _insert(conn, batch, fresh, results)
                names = await _usernames(conn, {batch[i].user_id for i, _ in placed if not batch[i].username})
                _stored(batch, placed, ids, now, names, results)
    for i, first in repeats.items():
        original = results[first]
        results[i] = StoreResult(original.message, created=False) if isinstance(original, StoreResult) else original
    return [r if r is not None else RuntimeError("not stored") for r in results]


def _sort_out(
    batch: list[_Pending],
    existing: dict[tuple[int, int, str], StoredMessage],
    results: list[StoreResult | BaseException | None],
) -> tuple[dict[int, list[int]], dict[int, int]]:
    """New messages by room (batch indexes), and repeats of one earlier in the batch
    (index -> that index); repeats of stored ones are answered in `results`."""
    fresh: dict[int, list[int]] = {}
    first_of: dict[tuple[int, int, str], int] = {}
    repeats: dict[int, int] = {}
    for i, p in enumerate(batch):
        if p.client_msg_id is not None:
            key = (p.room_id, p.user_id, p.client_msg_id)
            if key in existing:
                results[i] = StoreResult(existing[key], created=False)
                continue
            if key in first_of:
                repeats[i] = first_of[key]
                continue
            first_of[key] = i
        fresh.setdefault(p.room_id, []).append(i)
    return fresh, repeats


async def _store_sqlite(
    engine: AsyncEngine,
    batch: list[_Pending],
    fresh: dict[int, list[int]],
    results: list[StoreResult | BaseException | None],
) -> None:
    """The writer's path on SQLite: its statements straight to the driver, one
    thread hand-off each (SQLAlchemy's execute costs three or four)."""
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        run: _Run = driver.execute_fetchall
        try:
            await run("BEGIN IMMEDIATE", ())
            now = utcnow()
            placed, ids = await _insert_sqlite(run, conn.dialect, batch, fresh, results, now)
            await run("COMMIT", ())
        except BaseException:
            # A cancel can arrive after the COMMIT ran in the driver's thread: then
            # there is nothing to roll back, and the cancel must still propagate.
            if driver.in_transaction:
                with contextlib.suppress(Exception):
                    await asyncio.shield(run("ROLLBACK", ()))
            raise
    _stored(batch, placed, ids, now, {}, results)


_Run = Callable[[str, Sequence[object]], Awaitable[Iterable[Sequence[object]]]]


def _driver_sql(conn: AsyncConnection) -> _Run:
    async def run(sql: str, params: Sequence[object]) -> Iterable[Sequence[object]]:
        result = await conn.exec_driver_sql(sql, tuple(params))
        return result.all() if result.returns_rows else []

    return run


_users: Table = User.__table__  # type: ignore[assignment]
# The columns of a StoredMessage, in its field order.
_STORED = select(
    _messages.c.id,
    _messages.c.room_id,
    _messages.c.seq,
    _messages.c.user_id,
    _users.c.username,
    _messages.c.body,
    _messages.c.client_msg_id,
    _messages.c.created_at,
).join(_users, _users.c.id == _messages.c.user_id)


async def read_stored(
    conn: AsyncConnection | AsyncSession,
    room_id: int,
    *,
    after: int,
    upto: int | None = None,
    limit: int,
    newest: bool = False,
) -> list[StoredMessage]:
    """Messages with after < seq <= upto, ascending; the newest `limit` of them
    when `newest`, else the oldest. Plain rows: replay and catch-up send many."""
    query = _STORED.where(_messages.c.room_id == room_id, _messages.c.seq > after)
    if upto is not None:
        query = query.where(_messages.c.seq <= upto)
    query = query.order_by(_messages.c.seq.desc() if newest else _messages.c.seq).limit(limit)
    rows = [StoredMessage(*row) for row in await conn.execute(query)]
    if newest:
        rows.reverse()
    return rows


async def _existing(conn: AsyncConnection, batch: list[_Pending]) -> dict[tuple[int, int, str], StoredMessage]:
    """Messages already stored under the batch's client_msg_ids."""
    wanted = {(p.room_id, p.user_id, p.client_msg_id) for p in batch if p.client_msg_id is not None}
    if not wanted:
        return {}
    rows = await conn.execute(
        _STORED.where(tuple_(_messages.c.room_id, _messages.c.user_id, _messages.c.client_msg_id).in_(list(wanted)))
    )
    return {(r.room_id, r.user_id, r.client_msg_id): StoredMessage(*r) for r in rows}


# Built once: constructing statements costs more than running them here.
_NEXT_SEQS = (
    update(_rooms)
    .where(_rooms.c.id == bindparam("room_id"))
    .values(last_seq=_rooms.c.last_seq + bindparam("count"))
    .returning(_rooms.c.last_seq)
)
_INSERT = insert(_messages).returning(_messages.c.id, sort_by_parameter_order=True)


async def _insert(
    conn: AsyncConnection,
    batch: list[_Pending],
    fresh: dict[int, list[int]],
    results: list[StoreResult | BaseException | None],
) -> tuple[list[tuple[int, int]], Sequence[int], datetime]:
    now = utcnow()
    lasts = await _reserve_seqs(conn, {room_id: len(indexes) for room_id, indexes in fresh.items()})
    placed = _place(batch, fresh, lasts, results)
    if not placed:
        return [], [], now
    rows = [
        {
            "room_id": batch[i].room_id,
            "seq": seq,
            "user_id": batch[i].user_id,
            "body": batch[i].body,
            "client_msg_id": batch[i].client_msg_id,
            "created_at": now,
        }
        for i, seq in placed
    ]
    ids = (await conn.execute(_INSERT, rows)).scalars().all()
    return placed, ids, now


# SQLite: a whole batch in three statements whose rows travel as one JSON
# parameter. Each statement is one step in SQLite, so the driver's thread does not
# hand the GIL back and forth once per row, and no Python code runs per row.
# Ids are assigned here, safe under BEGIN IMMEDIATE (no other writer meanwhile).
_SQLITE_RESERVE = """
WITH counts(room_id, n) AS (SELECT CAST(key AS INTEGER), value FROM json_each(?1))
UPDATE rooms SET last_seq = last_seq + (SELECT n FROM counts WHERE counts.room_id = rooms.id)
WHERE id IN (SELECT room_id FROM counts)
"""
_SQLITE_RESERVED = """
SELECT json_group_object(id, last_seq), (SELECT coalesce(max(id), 0) FROM messages)
FROM rooms WHERE id IN (SELECT CAST(key AS INTEGER) FROM json_each(?1))
"""
_SQLITE_INSERT = """
INSERT INTO messages (id, room_id, seq, user_id, body, client_msg_id, created_at)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), ?2
FROM json_each(?1)
"""


async def _insert_sqlite(
    run: _Run,
    dialect: Dialect,
    batch: list[_Pending],
    fresh: dict[int, list[int]],
    results: list[StoreResult | BaseException | None],
    now: datetime,
) -> tuple[list[tuple[int, int]], range]:
    # Text, not bytes: SQLite 3.45+ may read a blob as binary JSON.
    counts = orjson.dumps({str(room_id): len(indexes) for room_id, indexes in fresh.items()}).decode()
    await run(_SQLITE_RESERVE, (counts,))
    ((reserved, last_id),) = cast(list[tuple[str, int]], await run(_SQLITE_RESERVED, (counts,)))
    lasts = {int(room_id): last for room_id, last in orjson.loads(reserved).items()}
    placed = _place(batch, fresh, lasts, results)
    ids = range(last_id + 1, last_id + 1 + len(placed))
    if placed:
        rows = [
            (message_id, batch[i].room_id, seq, batch[i].user_id, batch[i].body, batch[i].client_msg_id)
            for (i, seq), message_id in zip(placed, ids, strict=True)
        ]
        await run(_SQLITE_INSERT, (orjson.dumps(rows).decode(), _created_at_bind(dialect)(now)))
    return placed, ids


def _place(
    batch: list[_Pending],
    fresh: dict[int, list[int]],
    lasts: dict[int, int],
    results: list[StoreResult | BaseException | None],
) -> list[tuple[int, int]]:
    """(batch index, seq) of each new message whose room still exists; RoomGone for the others."""
    placed: list[tuple[int, int]] = []
    for room_id in sorted(fresh):
        indexes = fresh[room_id]
        last = lasts.get(room_id)
        if last is None:
            for i in indexes:
                results[i] = RoomGone(room_id)
            continue
        placed += [(i, seq) for seq, i in enumerate(indexes, start=last - len(indexes) + 1)]
    return placed


def _stored(
    batch: list[_Pending],
    placed: list[tuple[int, int]],
    ids: Sequence[int],
    now: datetime,
    names: dict[int, str],
    results: list[StoreResult | BaseException | None],
) -> None:
    for (i, seq), message_id in zip(placed, ids, strict=True):
        p = batch[i]
        message = StoredMessage(
            message_id, p.room_id, seq, p.user_id, p.username or names[p.user_id], p.body, p.client_msg_id, now
        )
        results[i] = StoreResult(message, created=True)


def _created_at_bind(dialect: Dialect) -> Callable[[datetime], object]:
    """created_at as the column type stores it, so rows read back like any other."""
    process = _messages.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else (lambda value: value)


async def _reserve_seqs(conn: AsyncConnection, counts: dict[int, int]) -> dict[int, int]:
    """Advance each room's last_seq by its count; the new last_seq per existing room.

    The rooms' row locks are held until commit: another writer gets its seqs only
    after this commit, so seq is gapless and in commit order."""
    if len(counts) == 1:
        ((room_id, count),) = counts.items()
        last = await conn.scalar(_NEXT_SEQS, {"room_id": room_id, "count": count})
        return {} if last is None else {room_id: last}
    ids = sorted(counts)
    if conn.dialect.name == "postgresql":
        # Lock in id order, so batches on other instances cannot deadlock with this one.
        await conn.execute(select(_rooms.c.id).where(_rooms.c.id.in_(ids)).order_by(_rooms.c.id).with_for_update())
    rows = await conn.execute(
        update(_rooms)
        .where(_rooms.c.id.in_(ids))
        .values(last_seq=_rooms.c.last_seq + case(counts, value=_rooms.c.id))
        .returning(_rooms.c.id, _rooms.c.last_seq)
    )
    return {r.id: r.last_seq for r in rows}


async def _usernames(conn: AsyncConnection, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = await conn.execute(select(_users.c.id, _users.c.username).where(_users.c.id.in_(user_ids)))
    return {r.id: r.username for r in rows}
