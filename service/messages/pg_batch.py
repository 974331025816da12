"""The writer's statements on PostgreSQL: a whole batch in a few statements whose
rows travel as arrays (`unnest`).

The statements are built and compiled once; a batch of any size and any mix of
rooms runs the same ones, so no SQL is generated per batch and SQLAlchemy runs no
Python per row (a multi-row INSERT … VALUES took it about 0.15 ms a message)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.messages.models import MESSAGE, Message

_messages: Table = Message.__table__  # type: ignore[assignment]

# Row locks in id order, so batches on other instances cannot deadlock with this one.
_LOCK = text("SELECT id FROM rooms WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE")
_RESERVE = text("""
UPDATE rooms SET last_seq = rooms.last_seq + c.n
FROM unnest(CAST(:ids AS bigint[]), CAST(:counts AS integer[])) AS c(id, n)
WHERE rooms.id = c.id
RETURNING rooms.id, rooms.last_seq
""")
_INSERT = text("""
INSERT INTO messages (room_id, seq, user_id, body, client_msg_id, created_at, kind, deleted, search_text)
SELECT t.room_id, t.seq, t.user_id, t.body, t.client_msg_id, :created_at, :kind, false, t.search_text
FROM unnest(CAST(:rooms AS bigint[]), CAST(:seqs AS integer[]), CAST(:users AS bigint[]),
            CAST(:bodies AS text[]), CAST(:client_msg_ids AS varchar[]), CAST(:search_texts AS text[]))
    AS t(room_id, seq, user_id, body, client_msg_id, search_text)
RETURNING id, room_id, seq
""").bindparams(bindparam("created_at", type_=_messages.c.created_at.type), bindparam("kind", MESSAGE))
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

# (room_id, seq, user_id, body, client_msg_id, search_text)
Row = tuple[int, int, int, str, str | None, str]


async def reserve_seqs(conn: AsyncConnection, counts: dict[int, int]) -> dict[int, int]:
    """Advance each room's last_seq by its count; the new last_seq per existing room.

    The rooms' row locks are held until commit: another writer gets its seqs only
    after this commit, so seq is gapless and in commit order."""
    ids = sorted(counts)
    if len(ids) > 1:
        await conn.execute(_LOCK, {"ids": ids})
    rows = await conn.execute(_RESERVE, {"ids": ids, "counts": [counts[i] for i in ids]})
    return {room_id: last for room_id, last in rows}


async def insert(conn: AsyncConnection, rows: Sequence[Row], now: datetime) -> list[int]:
    """The rows' message ids, in the rows' order."""
    columns = list(zip(*rows, strict=True))
    result = await conn.execute(
        _INSERT,
        {
            "rooms": list(columns[0]),
            "seqs": list(columns[1]),
            "users": list(columns[2]),
            "bodies": list(columns[3]),
            "client_msg_ids": list(columns[4]),
            "search_texts": list(columns[5]),
            "created_at": now,
        },
    )
    ids = {(room_id, seq): message_id for message_id, room_id, seq in result}
    return [ids[room_id, seq] for room_id, seq, *_ in rows]


async def advance_markers(conn: AsyncConnection, marks: dict[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """Move each (room, user) marker up to its seq; the members' markers before."""
    before = await conn.execute(
        _ADVANCE_MARKERS,
        {"rooms": [r for r, _ in marks], "users": [u for _, u in marks], "seqs": list(marks.values())},
    )
    return {(room_id, user_id): seen for room_id, user_id, seen in before}
