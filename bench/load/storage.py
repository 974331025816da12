"""The storage reference for PostgreSQL (the many-rooms scenario's): how many message
rows a plain asyncpg client stores per second, in batches, on the service's own
schema. bench/run.py runs it pinned to the server's core, on a fresh database at the
service's head revision.

One connection stores batches back to back, as the service's single writer does:
per batch one transaction that advances the batch's rooms' last_seq (the row lock
that makes seq gapless) and inserts the rows with one statement over arrays, so
every index and trigger of the schema is paid, but none of the service's Python.
Messages go to --rooms rooms at random from --rooms users, bodies of --body-size
characters."""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from datetime import UTC, datetime

import asyncpg

HELP = "PostgreSQL: what plain asyncpg stores per second in the writer's way (the storage reference)"

RESERVE = """
UPDATE rooms SET last_seq = rooms.last_seq + c.n
FROM unnest($1::bigint[], $2::integer[]) AS c(id, n)
WHERE rooms.id = c.id
RETURNING rooms.id, rooms.last_seq
"""
INSERT = """
INSERT INTO messages (room_id, seq, user_id, body, created_at, kind, deleted)
SELECT r, s, u, b, $5, 'message', false
FROM unnest($1::bigint[], $2::integer[], $3::bigint[], $4::text[]) AS t(r, s, u, b)
"""


async def setup(conn: asyncpg.Connection, n: int) -> list[int]:
    """n users and n public rooms, one owned by each; the room ids."""
    tag = f"{time.time_ns():x}"[-8:]
    now = datetime.now(UTC)
    users = await conn.fetch(
        "INSERT INTO users (username, username_key, password_hash, is_admin, created_at)"
        " SELECT x, x, 'x', false, $2 FROM unnest($1::text[]) AS x RETURNING id",
        [f"s{tag}{i}" for i in range(n)],
        now,
    )
    rooms = await conn.fetch(
        "INSERT INTO rooms (name, name_key, description, private, owner_id, created_at, last_seq, kind)"
        " SELECT x, x, '', false, u, $3, 0, 'room' FROM unnest($1::text[], $2::bigint[]) AS t(x, u) RETURNING id",
        [f"r{tag}{i}" for i in range(n)],
        [u["id"] for u in users],
        now,
    )
    return [r["id"] for r in rooms]


async def run(args: argparse.Namespace) -> dict[str, object]:
    conn = await asyncpg.connect(args.database_url)
    try:
        rooms = await setup(conn, args.rooms)
        users = await conn.fetch("SELECT id FROM users ORDER BY id DESC LIMIT $1", args.rooms)
        user_ids = [u["id"] for u in users]
        body = "x" * args.body_size
        rng = random.Random(1)
        stored = batches = 0
        start = time.perf_counter()
        deadline = start + args.duration
        while time.perf_counter() < deadline:
            picks = [rng.choice(rooms) for _ in range(args.batch)]
            counts = Counter(picks)
            async with conn.transaction():
                lasts = {r["id"]: r["last_seq"] for r in await conn.fetch(RESERVE, list(counts), list(counts.values()))}
                next_seq = {room: lasts[room] - n for room, n in counts.items()}
                seqs = []
                for room in picks:
                    next_seq[room] += 1
                    seqs.append(next_seq[room])
                senders = [rng.choice(user_ids) for _ in picks]
                await conn.execute(INSERT, picks, seqs, senders, [body] * len(picks), datetime.now(UTC))
            stored += len(picks)
            batches += 1
        elapsed = time.perf_counter() - start
    finally:
        await conn.close()
    return {
        "target": "asyncpg_batched_insert",
        "stored": stored,
        "batches": batches,
        "batch": args.batch,
        "seconds": round(elapsed, 3),
        "stored_per_s": round(stored / elapsed, 1),
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", required=True, help="asyncpg URL of a database at the service's head revision")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--rooms", type=int, default=200)
    p.add_argument("--batch", type=int, default=32, help="messages per transaction")
    p.add_argument("--body-size", type=int, default=60)
