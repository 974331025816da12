"""One batch of new messages in one transaction: seqs reserved per room, rows
inserted, senders' read markers moved, repeats of a client_msg_id answered with
the original. The statements are in sqlite_batch.py and pg_batch.py."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.auth.models import User
from service.db import utcnow
from service.messages import pg_batch, sqlite_batch
from service.messages.entries import RoomGone, StoredMessage, StoreResult
from service.messages.models import Message
from service.messages.stream_reads import STORED
from service.rooms.models import Room
from service.search.words import searchable

_messages: Table = Message.__table__  # type: ignore[assignment]
_rooms: Table = Room.__table__  # type: ignore[assignment]
_users: Table = User.__table__  # type: ignore[assignment]
# A repeated client_msg_id, through SQLAlchemy or straight from the SQLite driver.
REPEATED = (IntegrityError, sqlite3.IntegrityError)

Results = list[StoreResult | BaseException | None]


@dataclass(slots=True)
class Pending:
    room_id: int
    user_id: int
    username: str | None
    body: str
    client_msg_id: str | None
    future: asyncio.Future[StoreResult] | None = None


async def store_batch(
    engine: AsyncEngine, batch: list[Pending], *, look_up_repeats: bool = True
) -> list[StoreResult | BaseException]:
    """Store a batch in one transaction; a result (or RoomGone) per item, in order.

    Without `look_up_repeats`, a client_msg_id stored before raises IntegrityError
    (the unique constraint) instead of costing a query on every batch."""
    results: Results = [None] * len(batch)
    if engine.dialect.name == "sqlite" and not look_up_repeats and all(p.username for p in batch):
        fresh, repeats = _sort_out(batch, {}, results)
        if fresh:
            async with sqlite_batch.transaction(engine) as run:
                now = utcnow()
                placed, made, told = await _insert_sqlite(run, engine, batch, fresh, results, now)
            _stored(batch, placed, made, told, now, {}, results)
    else:
        async with engine.begin() as conn:
            existing = await _existing(conn, batch) if look_up_repeats else {}
            fresh, repeats = _sort_out(batch, existing, results)
            if fresh:
                now = utcnow()
                ids: Sequence[int]
                if conn.dialect.name == "sqlite":
                    run = sqlite_batch.through(conn)
                    placed, ids, told = await _insert_sqlite(run, engine, batch, fresh, results, now)
                else:
                    placed, ids, told = await _insert(conn, batch, fresh, results, now)
                names = await _usernames(conn, {batch[i].user_id for i, _ in placed if not batch[i].username})
                _stored(batch, placed, ids, told, now, names, results)
    for i, first in repeats.items():
        original = results[first]
        results[i] = StoreResult(original.message, created=False) if isinstance(original, StoreResult) else original
    return [r if r is not None else RuntimeError("not stored") for r in results]


def _sort_out(
    batch: list[Pending], existing: dict[tuple[int, int, str], StoredMessage], results: Results
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


async def _insert_sqlite(
    run: sqlite_batch.Run,
    engine: AsyncEngine,
    batch: list[Pending],
    fresh: dict[int, list[int]],
    results: Results,
    now: datetime,
) -> tuple[list[tuple[int, int]], range, set[int]]:
    counts = {room_id: len(ix) for room_id, ix in fresh.items()}
    senders = {(batch[i].room_id, batch[i].user_id) for ix in fresh.values() for i in ix}
    reserved = await sqlite_batch.reserve_seqs(run, counts, senders)
    placed = _place(batch, fresh, reserved.lasts, results)
    ids = range(reserved.last_id + 1, reserved.last_id + 1 + len(placed))
    if placed:
        rows: list[tuple[object, ...]] = [
            (
                message_id,
                batch[i].room_id,
                seq,
                batch[i].user_id,
                batch[i].body,
                batch[i].client_msg_id,
                searchable(batch[i].body),
            )
            for (i, seq), message_id in zip(placed, ids, strict=True)
        ]
        await sqlite_batch.insert(run, engine.dialect, rows, now)
        moved = _Senders(batch, placed)
        moved.before = reserved.markers
        await sqlite_batch.advance_markers(run, moved.marks())
        return placed, ids, moved.told()
    return placed, ids, set()


async def _insert(
    conn: AsyncConnection, batch: list[Pending], fresh: dict[int, list[int]], results: Results, now: datetime
) -> tuple[list[tuple[int, int]], Sequence[int], set[int]]:
    lasts = await pg_batch.reserve_seqs(conn, {room_id: len(indexes) for room_id, indexes in fresh.items()})
    placed = _place(batch, fresh, lasts, results)
    if not placed:
        return [], [], set()
    rows = [
        (batch[i].room_id, seq, batch[i].user_id, batch[i].body, batch[i].client_msg_id, searchable(batch[i].body))
        for i, seq in placed
    ]
    ids = await pg_batch.insert(conn, rows, now)
    senders = _Senders(batch, placed)
    senders.before = await pg_batch.advance_markers(conn, senders.marks())
    return placed, ids, senders.told()


class _Senders:
    """Sending moves the sender's read marker to their last message in the room.
    When it moves past entries that are not theirs, their devices are told
    (docs/protocol.md, "Read markers and unread counts")."""

    def __init__(self, batch: list[Pending], placed: list[tuple[int, int]]) -> None:
        self._last: dict[tuple[int, int], tuple[int, int]] = {}  # (room, user) -> (seq, batch index)
        self._count: dict[tuple[int, int], int] = {}
        for i, seq in placed:
            key = (batch[i].room_id, batch[i].user_id)
            self._last[key] = max((seq, i), self._last.get(key, (0, -1)))
            self._count[key] = self._count.get(key, 0) + 1
        self.before: dict[tuple[int, int], int] = {}  # members' markers before the batch

    def marks(self) -> dict[tuple[int, int], int]:
        return {key: seq for key, (seq, _) in self._last.items()}

    def told(self) -> set[int]:
        """Batch indexes of the last messages of senders whose marker moved past others' entries."""
        before = self.before
        return {i for key, (seq, i) in self._last.items() if key in before and seq - before[key] > self._count[key]}


def _place(
    batch: list[Pending], fresh: dict[int, list[int]], lasts: dict[int, int], results: Results
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
    batch: list[Pending],
    placed: list[tuple[int, int]],
    ids: Sequence[int],
    told: set[int],
    now: datetime,
    names: dict[int, str],
    results: Results,
) -> None:
    for (i, seq), message_id in zip(placed, ids, strict=True):
        p = batch[i]
        message = StoredMessage(
            message_id, p.room_id, seq, p.user_id, p.username or names[p.user_id], p.body, p.client_msg_id, now
        )
        results[i] = StoreResult(message, created=True, read_past_others=i in told)


async def _existing(conn: AsyncConnection, batch: list[Pending]) -> dict[tuple[int, int, str], StoredMessage]:
    """Messages already stored under the batch's client_msg_ids."""
    wanted = {(p.room_id, p.user_id, p.client_msg_id) for p in batch if p.client_msg_id is not None}
    if not wanted:
        return {}
    rows = await conn.execute(
        STORED.where(tuple_(_messages.c.room_id, _messages.c.user_id, _messages.c.client_msg_id).in_(list(wanted)))
    )
    return {(r.room_id, r.user_id, r.client_msg_id): StoredMessage(*tuple(r)) for r in rows}


async def _usernames(conn: AsyncConnection, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = await conn.execute(select(_users.c.id, _users.c.username).where(_users.c.id.in_(user_ids)))
    return {r.id: r.username for r in rows}
