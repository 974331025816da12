"""A plain batch on PostgreSQL (no replies, files, mentions or repeats to look up)
in one statement: the rooms' row locks in id order, their seqs reserved, the rows
inserted, the senders' read markers moved, and what the results need read back.

One statement is one transaction on its own, so the batch costs one round trip
to the database on a connection the writer keeps (autocommit: no BEGIN, no
COMMIT, no ping at checkout, which on this driver is three round trips more). The
writer is bound by its round trips, each waiting its turn of a busy event loop:
the batch in six statements and a ping took it nine (docs/performance.md).

The statement's answer arrives after its commit, so nothing is published before
it. Seq stays gapless and in commit order as in the multi-statement batch: each
room's `last_seq` is advanced under the row lock the statement holds until it
commits, and the locks are taken in id order, so writers on other instances
cannot deadlock with this one."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db import utcnow
from service.messages.entries import StoreResult
from service.messages.sends import Sends
from service.messages.store import Pending
from service.search.words import searchable
from service.tables import messages

# `k`: the send's place among its room's sends in this batch (1, 2, …), so its seq
# is the room's new last_seq less the room's count plus k (Sends.place does the same).
# The data-modifying parts run once each, to completion, and every part reads the
# snapshot of the statement's start: the markers selected at the end are those from
# before `moved`. A row locked after a wait is read at its newest version by the
# UPDATE, as in any UPDATE under READ COMMITTED.
_BATCH = text("""
WITH t AS (
    SELECT * FROM unnest(CAST(:rooms AS bigint[]), CAST(:ks AS integer[]), CAST(:users AS bigint[]),
                         CAST(:bodies AS text[]), CAST(:client_msg_ids AS varchar[]), CAST(:search_texts AS text[]))
        AS t(room_id, k, user_id, body, client_msg_id, search_text)
), locked AS (
    SELECT rooms.id, c.n FROM rooms
    JOIN unnest(CAST(:ids AS bigint[]), CAST(:counts AS integer[])) AS c(id, n) ON rooms.id = c.id
    ORDER BY rooms.id FOR UPDATE OF rooms
), reserved AS (
    UPDATE rooms SET last_seq = rooms.last_seq + locked.n FROM locked WHERE rooms.id = locked.id
    RETURNING rooms.id, rooms.last_seq, rooms.last_seq - locked.n AS base
), inserted AS (
    INSERT INTO messages (room_id, seq, user_id, body, client_msg_id, created_at, kind, deleted, search_text,
                          updated_seq)
    SELECT t.room_id, r.base + t.k, t.user_id, t.body, t.client_msg_id, :created_at, 'message', false,
           t.search_text, r.base + t.k
    FROM t JOIN reserved AS r ON r.id = t.room_id
    RETURNING id, room_id, seq, user_id
), sent AS (
    SELECT room_id, user_id, max(seq) AS seq FROM inserted GROUP BY room_id, user_id
), moved AS (
    UPDATE room_members AS m SET last_read_seq = sent.seq FROM sent
    WHERE m.room_id = sent.room_id AND m.user_id = sent.user_id AND m.last_read_seq < sent.seq
)
SELECT 0 AS what, id AS a, last_seq::bigint AS b, 0 AS c, NULL::text AS name FROM reserved
UNION ALL SELECT 1, id, room_id, seq, NULL FROM inserted
UNION ALL SELECT 2, m.room_id, m.user_id, m.last_read_seq, NULL FROM room_members AS m
    JOIN sent ON m.room_id = sent.room_id AND m.user_id = sent.user_id
UNION ALL SELECT 3, id, 0, 0, username FROM users WHERE id = ANY(CAST(:unnamed AS bigint[]))
""").bindparams(bindparam("created_at", type_=messages.c.created_at.type))
_ROOM, _MESSAGE, _MARKER, _NAME = range(4)
# A connection idle longer than this goes back to the pool and the next batch takes
# one the pool has pinged: a database restarted meanwhile fails no batch.
IDLE_SECONDS = 5.0


class PlainBatches:
    """Plain batches on one connection of the writer's engine, kept while batches
    follow one another and given up on any failure but a repeated client_msg_id
    (the statement rolled back, the connection is fine)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._used = 0.0  # when the connection last ran a batch

    async def store(self, sends: Sequence[Pending]) -> list[StoreResult | BaseException]:
        batch = Sends(sends, {})
        now = utcnow()
        if not batch.by_room:
            return batch.results((), now, before={}, names={})
        if self._conn is not None and time.monotonic() - self._used > IDLE_SECONDS:
            await self.close()  # the pool's ping checks the next one, as for any idle connection
        conn = self._conn or await self._connect()
        try:
            rows = (await conn.execute(_BATCH, _values(batch, now))).all()
        except IntegrityError:
            raise
        except BaseException:
            await self.close(broken=True)
            raise
        finally:
            self._used = time.monotonic()
        lasts, found, before, names = {}, {}, {}, {}
        for what, a, b, c, name in rows:
            if what == _ROOM:
                lasts[a] = b
            elif what == _MESSAGE:
                found[b, c] = a
            elif what == _MARKER:
                before[a, b] = c
            else:
                names[a] = name
        placed = batch.place(lasts)
        ids = [found[sends[i].room_id, seq] for i, seq in placed]
        return batch.results(ids, now, before=before, names=names)

    async def close(self, *, broken: bool = False) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            if broken:
                await conn.invalidate()
            await conn.close()

    async def _connect(self) -> AsyncConnection:
        conn = await self._engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return conn


def _values(batch: Sends, now: datetime) -> dict[str, object]:
    sends, counts = batch.sends, batch.counts()
    room_ids = sorted(counts)
    order = [(k, i) for room_id in room_ids for k, i in enumerate(batch.by_room[room_id], start=1)]
    return {
        "rooms": [sends[i].room_id for _, i in order],
        "ks": [k for k, _ in order],
        "users": [sends[i].user_id for _, i in order],
        "bodies": [sends[i].body for _, i in order],
        "client_msg_ids": [sends[i].client_msg_id for _, i in order],
        "search_texts": [searchable(sends[i].body) for _, i in order],
        "ids": room_ids,
        "counts": [counts[r] for r in room_ids],
        "unnamed": sorted({sends[i].user_id for _, i in order if not sends[i].username}),
        "created_at": now,
    }
