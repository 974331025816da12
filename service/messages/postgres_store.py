"""The store on PostgreSQL: a whole batch in a few statements whose rows travel as
arrays (`unnest`).

The statements are built and compiled once; a batch of any size and any mix of
rooms runs the same ones, so no SQL is generated per batch and SQLAlchemy runs no
Python per row (a multi-row INSERT … VALUES took it about 0.15 ms a message)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.messages import postgres_extras, send_extras
from service.messages.changes import Change, Outcome, apply
from service.messages.entries import StoreResult
from service.messages.models import MESSAGE
from service.messages.postgres_plain import PlainBatches
from service.messages.send_extras import Extra
from service.messages.send_transaction import through_sqlalchemy
from service.messages.sends import Markers, Sends
from service.messages.store import Pending, needs_more
from service.messages.stream_rows import dump
from service.search.words import searchable
from service.tables import messages

# Row locks in id order, so batches on other instances cannot deadlock with this one.
_LOCK = text("SELECT id FROM rooms WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE")
_RESERVE = text("""
UPDATE rooms SET last_seq = rooms.last_seq + c.n
FROM unnest(CAST(:ids AS bigint[]), CAST(:counts AS integer[])) AS c(id, n)
WHERE rooms.id = c.id
RETURNING rooms.id, rooms.last_seq
""")
_INSERT = text("""
INSERT INTO messages (room_id, seq, user_id, body, client_msg_id, created_at, kind, deleted, search_text, updated_seq)
SELECT t.room_id, t.seq, t.user_id, t.body, t.client_msg_id, :created_at, :kind, false, t.search_text, t.seq
FROM unnest(CAST(:rooms AS bigint[]), CAST(:seqs AS integer[]), CAST(:users AS bigint[]),
            CAST(:bodies AS text[]), CAST(:client_msg_ids AS varchar[]), CAST(:search_texts AS text[]))
    AS t(room_id, seq, user_id, body, client_msg_id, search_text)
RETURNING id, room_id, seq
""").bindparams(bindparam("created_at", type_=messages.c.created_at.type), bindparam("kind", MESSAGE))
# With replies or mentions in the batch: their columns too.
_INSERT_MORE = text("""
INSERT INTO messages (room_id, seq, user_id, body, client_msg_id, created_at, kind, deleted, search_text, updated_seq,
                      thread_seq, mention_ids, mentions_room, detail)
SELECT t.room_id, t.seq, t.user_id, t.body, t.client_msg_id, :created_at, :kind, false, t.search_text, t.seq,
       t.thread_seq, t.mention_ids, t.mentions_room, t.detail
FROM unnest(CAST(:rooms AS bigint[]), CAST(:seqs AS integer[]), CAST(:users AS bigint[]),
            CAST(:bodies AS text[]), CAST(:client_msg_ids AS varchar[]), CAST(:search_texts AS text[]),
            CAST(:thread_seqs AS integer[]), CAST(:mention_ids AS text[]), CAST(:mentions_rooms AS boolean[]),
            CAST(:details AS text[]))
    AS t(room_id, seq, user_id, body, client_msg_id, search_text, thread_seq, mention_ids, mentions_room, detail)
RETURNING id, room_id, seq
""").bindparams(bindparam("created_at", type_=messages.c.created_at.type), bindparam("kind", MESSAGE))
_PLAIN = Extra(None, None, False, None)
# The senders' markers as they were, and moved up to what each sent. Every part of
# a WITH sees the same snapshot, so the SELECT reads the markers from before the
# UPDATE. Row locks need no order here: the batch already holds its rooms' locks.
_ADVANCE_MARKERS = text("""
WITH sent AS (
    SELECT * FROM unnest(CAST(:rooms AS bigint[]), CAST(:users AS bigint[]), CAST(:seqs AS integer[]))
        AS t(room_id, user_id, seq)
), moved AS (
    UPDATE room_members AS m SET last_read_seq = sent.seq FROM sent
    WHERE m.room_id = sent.room_id AND m.user_id = sent.user_id AND m.last_read_seq < sent.seq
)
SELECT m.room_id, m.user_id, m.last_read_seq FROM room_members AS m
JOIN sent ON m.room_id = sent.room_id AND m.user_id = sent.user_id
""")


class PostgresStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._plain = PlainBatches(engine)

    async def store_sends(
        self, *, sends: Sequence[Pending], look_up_repeats: bool
    ) -> list[StoreResult | BaseException]:
        if not look_up_repeats and not needs_more(sends):
            return await self._plain.store(sends)
        return await through_sqlalchemy(self._engine, sends, look_up_repeats=look_up_repeats, write=_write)

    async def close(self) -> None:
        await self._plain.close()

    async def apply_changes(self, *, changes: Sequence[Change]) -> list[Outcome]:
        return await apply(self._engine, changes)


async def _write(conn: AsyncConnection, batch: Sends, now: datetime) -> tuple[Sequence[int], Markers]:
    # The rooms' row locks are held until commit: another writer gets its seqs only
    # after this commit, so seq is gapless and in commit order. Replies' roots are
    # checked under them, so no delete of a root slips in before the reply commits.
    more = needs_more(batch.sends)
    roots: send_extras.Roots = {}
    if more:
        await conn.execute(_LOCK, {"ids": sorted(batch.by_room)})
        roots = await postgres_extras.before(conn, batch)
        if not batch.by_room:  # every send of it refused
            return [], {}
    counts = batch.counts()
    room_ids = sorted(counts)
    if len(room_ids) > 1 and not more:
        await conn.execute(_LOCK, {"ids": room_ids})
    lasts = await conn.execute(_RESERVE, {"ids": room_ids, "counts": [counts[i] for i in room_ids]})
    placed = batch.place({room_id: last for room_id, last in lasts})
    if not placed:
        return [], {}
    sends = batch.sends
    rows = [
        (sends[i].room_id, seq, sends[i].user_id, sends[i].body, sends[i].client_msg_id, searchable(sends[i].body))
        for i, seq in placed
    ]
    columns = list(zip(*rows, strict=True))
    values = {
        "rooms": list(columns[0]),
        "seqs": list(columns[1]),
        "users": list(columns[2]),
        "bodies": list(columns[3]),
        "client_msg_ids": list(columns[4]),
        "search_texts": list(columns[5]),
        "created_at": now,
    }
    planned = send_extras.plan(batch, roots, now) if more else None
    if planned is not None:
        extras = [planned.extras.get(i, _PLAIN) for i, _ in placed]
        values["thread_seqs"] = [e.thread_seq for e in extras]
        values["mention_ids"] = [dump(e.mention_ids) if e.mention_ids else None for e in extras]
        values["mentions_rooms"] = [e.mentions_room for e in extras]
        values["details"] = [dump(e.detail) if e.detail else None for e in extras]
    inserted = await conn.execute(_INSERT if planned is None else _INSERT_MORE, values)
    found = {(room_id, seq): message_id for message_id, room_id, seq in inserted}
    ids = [found[room_id, seq] for room_id, seq, *_ in rows]
    marks = batch.marks()
    before = await conn.execute(
        _ADVANCE_MARKERS,
        {"rooms": [r for r, _ in marks], "users": [u for _, u in marks], "seqs": list(marks.values())},
    )
    if planned is not None:
        await postgres_extras.after(conn, batch, planned, ids, now)
    return ids, {(r, u): seen for r, u, seen in before}
