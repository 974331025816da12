"""The writer's fast path on SQLite: a whole batch in a few statements whose rows
travel as one JSON parameter, sent straight to the driver.

Each statement is one step in SQLite, so the driver's thread does not hand the
GIL back and forth once per row, no Python code runs per row, and each statement
costs one thread hand-off (SQLAlchemy's execute costs three or four). Ids are
assigned here, safe under BEGIN IMMEDIATE (no other writer meanwhile)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import orjson
from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.messages.models import Message

# A statement and its parameters -> its rows.
Run = Callable[[str, Sequence[object]], Awaitable[Iterable[Sequence[object]]]]

_messages: Table = Message.__table__  # type: ignore[assignment]

_RESERVE = """
WITH counts(room_id, n) AS (SELECT CAST(key AS INTEGER), value FROM json_each(?1))
UPDATE rooms SET last_seq = last_seq + (SELECT n FROM counts WHERE counts.room_id = rooms.id)
WHERE id IN (SELECT room_id FROM counts)
"""
# With the senders' read markers before they move: [[room, user, marker], …] for ?2's [[room, user], …].
_RESERVED = """
SELECT json_group_object(id, last_seq), (SELECT coalesce(max(id), 0) FROM messages),
       (SELECT json_group_array(json_array(room_id, user_id, last_read_seq)) FROM room_members
        WHERE (room_id, user_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
                                     FROM json_each(?2)))
FROM rooms WHERE id IN (SELECT CAST(key AS INTEGER) FROM json_each(?1))
"""
_INSERT = """
INSERT INTO messages (id, room_id, seq, user_id, body, client_msg_id, created_at, search_text)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), ?2,
       json_extract(value, '$[6]')
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


@contextlib.asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[Run]:
    """BEGIN IMMEDIATE … COMMIT on the driver itself."""
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        run: Run = driver.execute_fetchall
        try:
            await run("BEGIN IMMEDIATE", ())
            yield run
            await run("COMMIT", ())
        except BaseException:
            # A cancel can arrive after the COMMIT ran in the driver's thread: then
            # there is nothing to roll back, and the cancel must still propagate.
            if driver.in_transaction:
                with contextlib.suppress(Exception):
                    await asyncio.shield(run("ROLLBACK", ()))
            raise


def through(conn: AsyncConnection) -> Run:
    """The same statements inside a SQLAlchemy transaction."""

    async def run(sql: str, params: Sequence[object]) -> Iterable[Sequence[object]]:
        result = await conn.exec_driver_sql(sql, tuple(params))
        return result.all() if result.returns_rows else []

    return run


@dataclass(slots=True)
class Reserved:
    lasts: dict[int, int]  # the new last_seq per existing room
    last_id: int  # the highest message id so far
    markers: dict[tuple[int, int], int]  # the senders' read markers, (room, user) -> seq


async def reserve_seqs(run: Run, counts: dict[int, int], senders: Iterable[tuple[int, int]]) -> Reserved:
    """Advance each room's last_seq by its count, and read the (room, user)
    senders' markers in the same statement as the new last_seqs."""
    # Text, not bytes: SQLite 3.45+ may read a blob as binary JSON.
    param = orjson.dumps({str(room_id): n for room_id, n in counts.items()}).decode()
    await run(_RESERVE, (param,))
    pairs = orjson.dumps(list(senders)).decode()
    ((reserved, last_id, markers),) = cast(list[tuple[str, int, str]], await run(_RESERVED, (param, pairs)))
    return Reserved(
        {int(room_id): last for room_id, last in orjson.loads(reserved).items()},
        last_id,
        {(room_id, user_id): seq for room_id, user_id, seq in orjson.loads(markers)},
    )


async def insert(run: Run, dialect: Dialect, rows: list[tuple[object, ...]], now: datetime) -> None:
    """Rows of (id, room_id, seq, user_id, body, client_msg_id, search_text), all created `now`."""
    await run(_INSERT, (orjson.dumps(rows).decode(), _created_at_bind(dialect)(now)))


async def advance_markers(run: Run, marks: dict[tuple[int, int], int]) -> None:
    """Move each (room, user) marker up to its seq."""
    rows = orjson.dumps([(room_id, user_id, seq) for (room_id, user_id), seq in marks.items()]).decode()
    await run(_ADVANCE_MARKERS, (rows,))


def _created_at_bind(dialect: Dialect) -> Callable[[datetime], object]:
    """created_at as the column type stores it, so rows read back like any other."""
    process = _messages.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else (lambda value: value)
