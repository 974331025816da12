"""The store on SQLite. Its fast path takes a whole batch in a few statements whose
rows travel as one JSON parameter, sent straight to the driver.

Each statement is one step in SQLite, so the driver's thread does not hand the
GIL back and forth once per row, no Python code runs per row, and each statement
costs one thread hand-off (SQLAlchemy's execute costs three or four). Ids are
assigned here, safe under BEGIN IMMEDIATE (no other writer meanwhile). A batch
that needs look-ups (repeats, senders' names) runs the same statements inside a
SQLAlchemy transaction (send_transaction.py). Replies and mentions add a few
statements of the same kind (sqlite_extras.py), only to a batch that holds them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import cast

import orjson
from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db import utcnow
from service.messages import send_extras, sqlite_extras
from service.messages.changes import Change, Outcome, apply, apply_in_thread
from service.messages.entries import StoreResult
from service.messages.send_transaction import through_sqlalchemy
from service.messages.sends import Markers, Sends
from service.messages.sqlite_run import Run, through, transaction
from service.messages.store import Pending, needs_more
from service.search.words import searchable
from service.tables import messages

_RESERVE = """
WITH counts(room_id, n) AS (SELECT CAST(key AS INTEGER), value FROM json_each(?1))
UPDATE rooms SET last_seq = last_seq + (SELECT n FROM counts WHERE counts.room_id = rooms.id)
WHERE id IN (SELECT room_id FROM counts)
"""
# With the senders' read markers before they move: [[room, user, marker], …] for ?2's [[room, user], …].
_RESERVED_COLUMNS = """
SELECT json_group_object(id, last_seq), (SELECT coalesce(max(id), 0) FROM messages),
       (SELECT json_group_array(json_array(room_id, user_id, last_read_seq)) FROM room_members
        WHERE (room_id, user_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
                                     FROM json_each(?2)))"""
_RESERVED_ROOMS = """
FROM rooms WHERE id IN (SELECT CAST(key AS INTEGER) FROM json_each(?1))
"""
_RESERVED = _RESERVED_COLUMNS + _RESERVED_ROOMS
# And what replies, mentions and files need looked up (?3, ?4, ?5).
_RESERVED_MORE = _RESERVED_COLUMNS + sqlite_extras.LOOKUPS + _RESERVED_ROOMS
_INSERT = """
INSERT INTO messages (id, room_id, seq, user_id, body, client_msg_id, created_at, search_text, updated_seq)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), ?2,
       json_extract(value, '$[6]'), json_extract(value, '$[2]')
FROM json_each(?1)
"""
# With replies or mentions in the batch: their columns too (a JSON array or object
# comes out of json_extract as its JSON text).
_INSERT_MORE = """
INSERT INTO messages (id, room_id, seq, user_id, body, client_msg_id, created_at, search_text, updated_seq,
                      thread_seq, mention_ids, mentions_room, detail)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), ?2,
       json_extract(value, '$[6]'), json_extract(value, '$[2]'), json_extract(value, '$[7]'),
       json_extract(value, '$[8]'), json_extract(value, '$[9]'), json_extract(value, '$[10]')
FROM json_each(?1)
"""
# Senders have read up to what they sent: [room, user, seq] per sender and room.
_ADVANCE_MARKERS = """
UPDATE room_members SET last_read_seq = sent.seq
FROM (SELECT json_extract(value, '$[0]') AS room_id, json_extract(value, '$[1]') AS user_id,
             json_extract(value, '$[2]') AS seq FROM json_each(?1)) AS sent
WHERE room_members.room_id = sent.room_id AND room_members.user_id = sent.user_id
  AND room_members.last_read_seq < sent.seq
"""


class SQLiteStore:
    def __init__(self, engine: AsyncEngine, thread_engine: Engine | None = None) -> None:
        self._engine = engine
        self._thread_engine = thread_engine
        self._created_at = _created_at_bind(engine.dialect)

    async def close(self) -> None:
        """Nothing is held between batches."""

    async def store_sends(
        self, *, sends: Sequence[Pending], look_up_repeats: bool
    ) -> list[StoreResult | BaseException]:
        if look_up_repeats or not all(p.username for p in sends):
            return await through_sqlalchemy(self._engine, sends, look_up_repeats=look_up_repeats, write=self._through)
        batch = Sends(sends, {})
        if not batch.by_room:
            return batch.results((), utcnow(), before={}, names={})
        async with transaction(self._engine) as run:
            now = utcnow()
            ids, before = await self._write(run, batch, now)
        return batch.results(ids, now, before=before, names={})

    async def apply_changes(self, *, changes: Sequence[Change]) -> list[Outcome]:
        if self._thread_engine is None:  # an in-memory database: one connection, the async engine's
            return await apply(self._engine, changes)
        return await asyncio.to_thread(apply_in_thread, self._thread_engine, changes)

    async def _through(self, conn: AsyncConnection, batch: Sends, now: datetime) -> tuple[Sequence[int], Markers]:
        return await self._write(through(conn), batch, now)

    async def _write(self, run: Run, batch: Sends, now: datetime) -> tuple[Sequence[int], Markers]:
        lookups = sqlite_extras.Lookups(batch) if needs_more(batch.sends) else None
        # Text, not bytes: SQLite 3.45+ may read a blob as binary JSON.
        counts = orjson.dumps({str(room_id): n for room_id, n in batch.counts().items()}).decode()
        senders = orjson.dumps(list(batch.senders())).decode()
        await run(_RESERVE, (counts,))
        roots: send_extras.Roots = {}
        refused: dict[int, int] = {}
        if lookups is None:
            ((lasts, last_id, markers),) = cast(list[tuple[str, int, str]], await run(_RESERVED, (counts, senders)))
        else:
            found = await run(_RESERVED_MORE, (counts, senders, *lookups.params))
            ((lasts, last_id, markers, *looked_up),) = cast(list[tuple[str, int, str, str, str, str]], found)
            roots, refused = lookups.found(batch, *looked_up)
            if refused:  # rare: the seqs reserved for refused replies are given back
                await run(_RESERVE, (orjson.dumps({str(r): -n for r, n in refused.items()}).decode(),))
        placed = batch.place({int(r): last - refused.get(int(r), 0) for r, last in orjson.loads(lasts).items()})
        if not placed:
            return (), {}
        ids = range(last_id + 1, last_id + 1 + len(placed))
        sends = batch.sends
        rows: list[tuple[object, ...]] = [
            (
                message_id,
                sends[i].room_id,
                seq,
                sends[i].user_id,
                sends[i].body,
                sends[i].client_msg_id,
                searchable(sends[i].body),
            )
            for (i, seq), message_id in zip(placed, ids, strict=True)
        ]
        created_at = self._created_at(now)
        planned = send_extras.plan(batch, roots, now) if lookups is not None else None
        if planned is not None and planned.extras:
            rows = [(*row, *sqlite_extras.extra_columns(planned, i)) for row, (i, _) in zip(rows, placed, strict=True)]
            await run(_INSERT_MORE, (sqlite_extras.json_text(rows), created_at))
        else:  # an @ that named nobody costs nothing more
            await run(_INSERT, (orjson.dumps(rows).decode(), created_at))
        moved = [(room_id, user_id, seq) for (room_id, user_id), seq in batch.marks().items()]
        await run(_ADVANCE_MARKERS, (orjson.dumps(moved).decode(),))
        if planned is not None:
            await sqlite_extras.after(run, batch, planned, ids, created_at)
        return ids, {(room_id, user_id): seq for room_id, user_id, seq in orjson.loads(markers)}


def _created_at_bind(dialect: Dialect) -> Callable[[datetime], object]:
    """created_at as the column type stores it, so rows read back like any other."""
    process = messages.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else (lambda value: value)
