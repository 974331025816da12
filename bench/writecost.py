"""What each of the writer's statements costs the database per batch, and what a
per-member unread counter would add: the micro-measurement behind the choice of
a count query (service/markers/service.py) over a counter.

    .venv/bin/python bench/writecost.py                          # SQLite
    .venv/bin/python bench/writecost.py --database postgresql    # a fresh database on 127.0.0.1:5432, dropped after

Two databases from the service's migrations, filled alike (--rooms rooms in each of
the --members groups, every room with that many members, --history messages
already stored); the second also has ix_messages_unread, an index of the messages
that count as unread (an entry per message), which the unread count read before
migration 0006. Batches shaped like the group-commit writer's (--batch
messages over rooms of one group, chosen at random, each from a member) run in turns on
both, one transaction each, statement by statement as the service sends them:

- reserve: the rooms' last_seq advanced (and, on SQLite, read back with the highest id)
- insert: the messages
- markers: each sender's read marker moved to its message (issue 13)
- counter: the statement a counter design would add: every member's unread count in
  the batch's rooms raised by the room's new messages (the senders' own would be set
  by the marker statement, one more column there)
- commit

Cost is CPU time of the database's work, which the rest of the machine does not
inflate: on SQLite the statement runs in this thread (thread CPU time), on
PostgreSQL in the backend (its /proc/<pid>/schedstat run time). The JSON line
printed last has the medians per batch and per message; a table goes to stderr."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

STATEMENTS = ("reserve", "insert", "markers", "counter", "commit")

# The index of counted messages the unread count read before migration 0006.
CREATE_UNREAD_INDEX = (
    "CREATE INDEX ix_messages_unread ON messages (room_id, seq, user_id, kind, deleted) "
    "WHERE kind = 'message' AND NOT deleted"
)
# The statement a counter design adds to every batch: each member's unread count in the
# batch's rooms goes up by the room's new messages ([room, n] per room). The senders' counts
# would be set to what came after their message by the marker statement, which runs anyway
# (one more column there), so that is not measured apart.
SQLITE_COUNTER = """
UPDATE room_members SET unread_count = unread_count + batch.n
FROM (SELECT json_extract(value, '$[0]') AS room_id, json_extract(value, '$[1]') AS n FROM json_each(?1)) AS batch
WHERE room_members.room_id = batch.room_id
"""
PG_COUNTER = """
UPDATE room_members AS m SET unread_count = m.unread_count + batch.n
FROM unnest(CAST(:rooms AS bigint[]), CAST(:ns AS int[])) AS batch(room_id, n)
WHERE m.room_id = batch.room_id
"""


# ---------------------------------------------------------------------- layout


def layout(args: argparse.Namespace) -> tuple[list[int], dict[int, list[int]], dict[int, list[int]]]:
    """User ids, rooms per member group, and each room's members (room and user ids from 1)."""
    n_users = max(args.members)
    users = list(range(1, n_users + 1))
    groups: dict[int, list[int]] = {}
    members: dict[int, list[int]] = {}
    room = 0
    rng = random.Random(args.seed)
    for m in args.members:
        groups[m] = []
        for _ in range(args.rooms):
            room += 1
            groups[m].append(room)
            members[room] = rng.sample(users, m)
    return users, groups, members


def history_rows(
    args: argparse.Namespace, members: dict[int, list[int]]
) -> tuple[list[tuple[Any, ...]], dict[int, int]]:
    """(room_id, seq, user_id, body, created_at) of --history messages spread over the rooms; each room's last seq."""
    rng = random.Random(args.seed + 1)
    rooms = list(members)
    last = dict.fromkeys(rooms, 0)
    start = datetime.now(UTC) - timedelta(days=7)
    rows = []
    for i in range(args.history):
        room = rng.choice(rooms)
        last[room] += 1
        rows.append((room, last[room], rng.choice(members[room]), "h" * 100, start + timedelta(seconds=i)))
    return rows, last


def batches(
    args: argparse.Namespace, groups: dict[int, list[int]], members: dict[int, list[int]]
) -> list[tuple[int, list[tuple[int, int]]]]:
    """(group, [(room, sender)...]) in the order they run: groups in turn."""
    rng = random.Random(args.seed + 2)
    out = []
    for _ in range(args.batches):
        for m, rooms in groups.items():
            picked = rng.choices(rooms, k=args.batch)
            out.append((m, [(room, rng.choice(members[room])) for room in picked]))
    return out


def per_room(batch: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Messages per room in a batch of (room, sender)."""
    counts: dict[int, int] = {}
    for room, _ in batch:
        counts[room] = counts.get(room, 0) + 1
    return counts


def place(batch: Sequence[tuple[int, int]], lasts: dict[int, int]) -> list[tuple[int, int, int]]:
    """(room, seq, sender) per message, seqs after each room's reserved range starts."""
    nexts = {room: lasts[room] - n + 1 for room, n in per_room(batch).items()}
    placed = []
    for room, user in sorted(batch, key=lambda x: x[0]):
        placed.append((room, nexts[room], user))
        nexts[room] += 1
    return placed


def migrate_to_head(url: str) -> None:
    from service import migrate
    from service.config import Settings

    migrate.upgrade(Settings(database_url=url, secret_key=secrets.token_urlsafe(36)))


# ---------------------------------------------------------------------- SQLite


def sqlite_run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from service.messages import sqlite_batch

    users, groups, members = layout(args)
    path_a = workdir / "without_index.db"
    migrate_to_head(f"sqlite+aiosqlite:///{path_a}")
    created_at = sqlite_batch._created_at_bind(sqlite_dialect.dialect())
    rows, last = history_rows(args, members)
    t0 = time.perf_counter()
    conn = sqlite3.connect(path_a, isolation_level=None)
    fill_sqlite(conn, users, members, last, rows, created_at)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file copied next
    conn.close()
    path_b = workdir / "with_index.db"
    shutil.copyfile(path_a, path_b)
    conn = sqlite3.connect(path_b, isolation_level=None)
    conn.execute(CREATE_UNREAD_INDEX)
    conn.close()
    fill_s = time.perf_counter() - t0
    conns = {}
    for name, path in (("with_index", path_b), ("without_index", path_a)):
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={args.sqlite_synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        for pragma in args.sqlite_pragma:
            conn.execute(f"PRAGMA {pragma}")
        conns[name] = conn
    samples: dict[tuple[str, int, str], list[int]] = {}
    for m, batch in batches(args, groups, members):
        for name, conn in conns.items():
            for statement, ns in sqlite_batch_once(conn, batch, created_at).items():
                samples.setdefault((name, m, statement), []).append(ns)
    for conn in conns.values():
        conn.close()
    return {"fill_s": round(fill_s, 1), **summarize(args, samples, "thread CPU")}


def fill_sqlite(
    conn: sqlite3.Connection,
    users: list[int],
    members: dict[int, list[int]],
    last: dict[int, int],
    rows: list[tuple[Any, ...]],
    created_at: Any,
) -> None:
    now = created_at(datetime.now(UTC))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO users (id, username, username_key, password_hash, is_admin, created_at)"
        " VALUES (?, ?, ?, '!', 0, ?)",
        [(u, f"w{u}", f"w{u}", now) for u in users],
    )
    conn.executemany(
        "INSERT INTO rooms (id, name, name_key, description, private, owner_id, created_at, last_seq)"
        " VALUES (?, ?, ?, '', 0, ?, ?, ?)",
        [(r, f"r{r}", f"r{r}", ms[0], now, last[r]) for r, ms in members.items()],
    )
    conn.executemany(
        "INSERT INTO room_members (room_id, user_id, joined_at, last_read_seq) VALUES (?, ?, ?, 0)",
        [(r, u, now) for r, ms in members.items() for u in ms],
    )
    conn.executemany(
        "INSERT INTO messages (room_id, seq, user_id, body, created_at) VALUES (?, ?, ?, ?, ?)",
        [(r, s, u, b, created_at(t)) for r, s, u, b, t in rows],
    )
    conn.execute("ALTER TABLE room_members ADD COLUMN unread_count INTEGER NOT NULL DEFAULT 0")
    conn.execute("COMMIT")


def sqlite_batch_once(conn: sqlite3.Connection, batch: Sequence[tuple[int, int]], created_at: Any) -> dict[str, int]:
    """One batch through the SQLite writer's statements (service/messages/sqlite_batch.py); CPU ns of each."""
    from service.messages import sqlite_batch

    cpu = time.thread_time_ns
    out = {}
    counts = per_room(batch)
    conn.execute("BEGIN IMMEDIATE")
    t = cpu()
    param = orjson.dumps({str(r): n for r, n in counts.items()}).decode()
    conn.execute(sqlite_batch._RESERVE, (param,))
    senders = orjson.dumps(sorted({(room, user) for room, user in batch})).decode()
    ((reserved, last_id, _markers),) = conn.execute(sqlite_batch._RESERVED, (param, senders)).fetchall()
    out["reserve"] = cpu() - t
    lasts = {int(r): v for r, v in orjson.loads(reserved).items()}
    placed = place(batch, lasts)
    t = cpu()
    rows = [(last_id + 1 + k, room, seq, user, "b" * 100, None) for k, (room, seq, user) in enumerate(placed)]
    conn.execute(sqlite_batch._INSERT, (orjson.dumps(rows).decode(), created_at(datetime.now(UTC))))
    out["insert"] = cpu() - t
    marks: dict[tuple[int, int], int] = {}
    for room, seq, user in placed:
        marks[(room, user)] = max(seq, marks.get((room, user), 0))
    t = cpu()
    conn.execute(sqlite_batch._ADVANCE_MARKERS, (orjson.dumps([(r, u, s) for (r, u), s in marks.items()]).decode(),))
    out["markers"] = cpu() - t
    t = cpu()
    conn.execute(SQLITE_COUNTER, (orjson.dumps([[r, n] for r, n in counts.items()]).decode(),))
    out["counter"] = cpu() - t
    t = cpu()
    conn.execute("COMMIT")
    out["commit"] = cpu() - t
    return out


# ------------------------------------------------------------------ PostgreSQL


def schedstat_ns(pid: int) -> int:
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


async def pg_run(args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg

    admin = await asyncpg.connect(args.pg_url)
    base = f"chat_writecost_{os.getpid()}_{secrets.token_hex(3)}"
    names = {"without_index": base + "_a", "with_index": base + "_b"}
    created: list[str] = []
    try:
        await admin.execute(f'CREATE DATABASE "{names["without_index"]}"')
        created.append(names["without_index"])
        t0 = time.perf_counter()
        await asyncio.to_thread(migrate_to_head, pg_url(args.pg_url, names["without_index"]))
        users, groups, members = layout(args)
        rows, last = history_rows(args, members)
        conn = await asyncpg.connect(args.pg_url.rsplit("/", 1)[0] + "/" + names["without_index"])
        await fill_pg(conn, users, members, last, rows)
        await conn.close()
        await admin.execute(f'CREATE DATABASE "{names["with_index"]}" TEMPLATE "{names["without_index"]}"')
        created.append(names["with_index"])
        conn = await asyncpg.connect(args.pg_url.rsplit("/", 1)[0] + "/" + names["with_index"])
        await conn.execute(CREATE_UNREAD_INDEX)
        await conn.close()
        fill_s = time.perf_counter() - t0
        samples = await pg_batches(args, names, groups, members)
        return {"fill_s": round(fill_s, 1), **summarize(args, samples, "backend CPU")}
    finally:
        for name in created:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def pg_url(admin_url: str, name: str) -> str:
    return "postgresql+asyncpg://" + admin_url.split("://", 1)[1].rsplit("/", 1)[0] + "/" + name


async def fill_pg(
    conn: Any, users: list[int], members: dict[int, list[int]], last: dict[int, int], rows: list[tuple[Any, ...]]
) -> None:
    now = datetime.now(UTC)
    async with conn.transaction():
        await conn.copy_records_to_table(
            "users",
            records=[(u, f"w{u}", f"w{u}", "!", False, now) for u in users],
            columns=["id", "username", "username_key", "password_hash", "is_admin", "created_at"],
        )
        await conn.copy_records_to_table(
            "rooms",
            records=[(r, f"r{r}", f"r{r}", "", False, ms[0], now, last[r]) for r, ms in members.items()],
            columns=["id", "name", "name_key", "description", "private", "owner_id", "created_at", "last_seq"],
        )
        await conn.copy_records_to_table(
            "room_members",
            records=[(r, u, now, 0) for r, ms in members.items() for u in ms],
            columns=["room_id", "user_id", "joined_at", "last_read_seq"],
        )
        await conn.copy_records_to_table(
            "messages", records=rows, columns=["room_id", "seq", "user_id", "body", "created_at"]
        )
        await conn.execute("ALTER TABLE room_members ADD COLUMN unread_count integer NOT NULL DEFAULT 0")
        for table in ("users", "rooms", "messages"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    await conn.execute("VACUUM ANALYZE")


@contextlib.contextmanager
def timed(out: dict[str, int], statement: str, backend: int) -> Iterator[None]:
    """The backend's CPU ns under `statement`, and this thread's (SQLAlchemy, asyncpg) under `statement.client`."""
    t, c = schedstat_ns(backend), time.thread_time_ns()
    yield
    out[f"{statement}.client"] = time.thread_time_ns() - c
    out[statement] = schedstat_ns(backend) - t


async def pg_batches(
    args: argparse.Namespace, names: dict[str, str], groups: dict[int, list[int]], members: dict[int, list[int]]
) -> dict[tuple[str, int, str], list[int]]:
    """Batches through the PostgreSQL writer's statements (service/messages/batch.py), in turns on both databases."""
    from sqlalchemy import text

    from service.db import create_engine
    from service.messages import batch as writer

    engines = {name: create_engine(pg_url(args.pg_url, db)) for name, db in names.items()}
    conns = {name: await engine.connect() for name, engine in engines.items()}
    pids = {name: int(await conn.scalar(text("SELECT pg_backend_pid()"))) for name, conn in conns.items()}
    for conn in conns.values():
        await conn.commit()
    counter = text(PG_COUNTER)
    samples: dict[tuple[str, int, str], list[int]] = {}
    try:
        for m, batch in batches(args, groups, members):
            for name, conn in conns.items():
                pid = pids[name]
                out: dict[str, int] = {}
                counts = per_room(batch)
                await conn.begin()
                with timed(out, "reserve", pid):
                    lasts = await writer._reserve_seqs(conn, counts)
                placed = place(batch, lasts)
                now = datetime.now(UTC)
                with timed(out, "insert", pid):
                    rows = [
                        {
                            "room_id": r,
                            "seq": s,
                            "user_id": u,
                            "body": "b" * 100,
                            "client_msg_id": None,
                            "created_at": now,
                        }
                        for r, s, u in placed
                    ]
                    (await conn.execute(writer._INSERT, rows)).scalars().all()
                with timed(out, "markers", pid):
                    marks: dict[tuple[int, int], int] = {}
                    for room, seq, user in placed:
                        marks[(room, user)] = max(seq, marks.get((room, user), 0))
                    params = [{"r": r, "u": u, "s": s} for (r, u), s in sorted(marks.items())]
                    await conn.execute(writer._ADVANCE_MARKER, params)
                with timed(out, "counter", pid):
                    await conn.execute(counter, {"rooms": list(counts), "ns": list(counts.values())})
                with timed(out, "commit", pid):
                    await conn.commit()
                for statement, ns in out.items():
                    samples.setdefault((name, m, statement), []).append(ns)
    finally:
        for conn in conns.values():
            await conn.close()
        for engine in engines.values():
            await engine.dispose()
    return samples


# --------------------------------------------------------------------- summary


def summarize(args: argparse.Namespace, samples: dict[tuple[str, int, str], list[int]], what: str) -> dict[str, Any]:
    """Median µs per batch of each statement, per database and member group, and the derived costs per message."""
    per_batch: dict[str, dict[str, dict[str, float]]] = {}
    for (name, m, statement), values in samples.items():
        per_batch.setdefault(name, {}).setdefault(str(m), {})[statement] = round(statistics.median(values) / 1e3, 1)
    derived = {}
    for m in args.members:
        a, b = per_batch["with_index"][str(m)], per_batch["without_index"][str(m)]

        def cost(part: dict[str, float], statement: str) -> float:
            return part[statement] + part.get(f"{statement}.client", 0.0)

        written = sum(cost(b, statement) for statement in ("reserve", "insert", "markers", "commit"))
        derived[str(m)] = {
            "writer_us_per_msg": round(written / args.batch, 2),  # the service's statements now
            # The index's pages are written at the insert and again at the commit (WAL, fsync).
            "unread_index_us_per_msg": round(
                sum(cost(a, statement) - cost(b, statement) for statement in ("insert", "commit")) / args.batch, 2
            ),
            "markers_us_per_msg": round(cost(b, "markers") / args.batch, 2),
            "counter_us_per_msg": round(cost(b, "counter") / args.batch, 2),
            "counter_vs_writer": round(cost(b, "counter") / written, 3),
        }
    return {
        "cost": what,
        "batch": args.batch,
        "batches": args.batches,
        "rooms_per_group": args.rooms,
        "history": args.history,
        "median_us_per_batch": per_batch,
        "per_message": derived,
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['database']}: median {result['cost']} µs per batch of {result['batch']} messages "
        f"({result['batches']} batches per group and database, {result['history']:,} messages stored before)"
        + ("; PostgreSQL: backend + client (SQLAlchemy, asyncpg) CPU" if result["database"] == "postgresql" else ""),
        "",
        "| members per room | database | " + " | ".join(STATEMENTS) + " |",
        "|---|---|" + "---|" * len(STATEMENTS),
    ]
    for name, groups in result["median_us_per_batch"].items():
        for m, statements in groups.items():
            cells = []
            for statement in STATEMENTS:
                client = statements.get(f"{statement}.client")
                cells.append(f"{statements[statement]}" + ("" if client is None else f" + {client}"))
            lines.append(f"| {m} | {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| members per room | writer µs/msg | unread index µs/msg | markers µs/msg | counter µs/msg"
        " | counter ÷ writer |",
        "|---|---|---|---|---|---|",
    ]
    for m, d in result["per_message"].items():
        lines.append(
            f"| {m} | {d['writer_us_per_msg']} | {d['unread_index_us_per_msg']} | {d['markers_us_per_msg']} "
            f"| {d['counter_us_per_msg']} | {d['counter_vs_writer']} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres", help="admin connection")
    p.add_argument("--db-dir", help="where the SQLite files go (default: the temp dir)")
    p.add_argument("--sqlite-synchronous", choices=("full", "normal"), default="full")
    p.add_argument("--sqlite-pragma", action="append", default=[], metavar="NAME=VALUE", help="repeatable")
    p.add_argument("--rooms", type=int, default=200, help="rooms per member group")
    p.add_argument(
        "--members", type=lambda s: [int(x) for x in s.split(",")], default=[2, 5, 20, 100], help="members per room"
    )
    p.add_argument("--history", type=int, default=200_000, help="messages stored before")
    p.add_argument("--batch", type=int, default=50, help="messages per batch (transaction)")
    p.add_argument("--batches", type=int, default=200, help="batches per member group and database")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--quick", action="store_true", help="a smoke run: small tables, few batches")
    args = p.parse_args(argv)
    if args.quick:
        args.rooms, args.history, args.batches, args.members = 20, 2000, 10, [2, 20]
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.database == "sqlite":
        workdir = Path(tempfile.mkdtemp(prefix="bench-writecost-", dir=args.db_dir))
        try:
            result = {"database": "sqlite", **sqlite_run(args, workdir)}
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    else:
        result = {"database": "postgresql", **asyncio.run(pg_run(args))}
    print(report(result), file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
