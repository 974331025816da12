"""Full-text search on a large store: a fill tool and a search scenario.

    .venv/bin/python bench/search.py --engine sqlite                 # 1,000,000 messages
    .venv/bin/python bench/search.py --engine postgres --messages 100000
    .venv/bin/python bench/search.py --engine both --json out.json

Fill: a fresh database (a SQLite file, or a new PostgreSQL database that is dropped
afterwards), the schema by `chat-service db upgrade`, the user `searcher` by
`chat-service user create`, then plain SQL in large transactions: users, rooms (a
fifth private), memberships and N messages with bodies drawn from a Zipf vocabulary,
a rare word planted in a few of them. The index is built as the rows go in (FTS5
triggers on SQLite, the generated tsvector column and its GIN index on PostgreSQL),
which is the real cost of the index and is reported as the fill rate.

Measure: `chat-service serve` on that database, pinned to one core, logs in as
`searcher` and times each query kind over keep-alive HTTP on loopback, after a
warm-up. `GET /users/me` (auth + one query) is timed in the same run as the
reference: search's own cost is about the difference. The results are checked: the
rare word's matches are exactly the planted ones in rooms the searcher may read.
"""

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
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from harness import CHAT_SERVICE, Server, free_port, stop, wait_ready

from service.search.words import searchable

PASSWORD = "search-bench-password"
RARE = "zyxquartz"  # the vocabulary has no q, x or z: no word shares its prefix
N_USERS = 100
N_ROOMS = 100
PRIVATE_FRACTION = 0.2
MEMBERS_PER_ROOM = 10
VOCABULARY = 4000
ZIPF_S = 1.0
WORDS_MIN, WORDS_MAX = 4, 16
BATCH = 50_000


# ------------------------------------------------------------------------- data


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """`size` distinct lower-case words of 3-9 letters, most common first."""
    letters = "abcdefghijklmnoprstuvwy"  # no q, x, z: the rare word cannot collide
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choice(letters) for _ in range(rng.randint(3, 9)))] = None
    return list(words)


@dataclass
class Plan:
    """Everything the fill writes, and what the checks expect."""

    messages: int
    seed: int
    words: list[str] = field(default_factory=list)
    private: set[int] = field(default_factory=set)  # room ids
    members: dict[int, list[int]] = field(default_factory=dict)  # room id -> user ids
    searcher_rooms: set[int] = field(default_factory=set)
    rare_ids: list[int] = field(default_factory=list)  # message ids with the rare word
    rare_rooms: dict[int, int] = field(default_factory=dict)  # their rooms
    last_seq: dict[int, int] = field(default_factory=dict)  # room id -> seq

    def readable(self, room_id: int) -> bool:
        return room_id not in self.private or room_id in self.searcher_rooms


def make_plan(messages: int, seed: int) -> Plan:
    rng = random.Random(seed)
    plan = Plan(messages, seed, words=vocabulary(rng, VOCABULARY))
    rooms = list(range(1, N_ROOMS + 1))
    plan.private = set(rng.sample(rooms, int(N_ROOMS * PRIVATE_FRACTION)))
    public = sorted(set(rooms) - plan.private)
    private = sorted(plan.private)
    # The searcher (user 1) is in some public rooms and half the private ones.
    plan.searcher_rooms = set(rng.sample(public, 10)) | set(private[: len(private) // 2])
    others = list(range(2, N_USERS + 2))
    for room in rooms:
        members = rng.sample(others, MEMBERS_PER_ROOM)
        if room in plan.searcher_rooms:
            members.append(1)
        plan.members[room] = members
    # The rare word: 10 messages, 2 of them in private rooms the searcher is not in (messages()).
    plan.rare_ids = sorted(rng.sample(range(1, messages + 1), min(10, messages)))
    return plan


def messages(plan: Plan, created0: datetime, fmt: str) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of (id, room_id, seq, user_id, body, created_at, search_text), ids in time order."""
    rng = random.Random(plan.seed + 1)
    weights = [1 / (rank + 1) ** ZIPF_S for rank in range(len(plan.words))]
    cum = list(_accumulate(weights))
    rooms = list(range(1, N_ROOMS + 1))
    hidden = [r for r in sorted(plan.private) if r not in plan.searcher_rooms]
    seq = dict.fromkeys(rooms, 0)
    rare = set(plan.rare_ids)
    # The first two rare messages go to rooms the searcher cannot read.
    forced = {mid: hidden[i % len(hidden)] for i, mid in enumerate(plan.rare_ids[:2])}
    step = timedelta(milliseconds=50)
    next_id = 1
    while next_id <= plan.messages:
        n = min(BATCH, plan.messages - next_id + 1)
        lengths = [rng.randint(WORDS_MIN, WORDS_MAX) for _ in range(n)]
        drawn = rng.choices(plan.words, cum_weights=cum, k=sum(lengths))
        room_of = rng.choices(rooms, k=n)
        rows = []
        pos = 0
        for i in range(n):
            mid = next_id + i
            words = drawn[pos : pos + lengths[i]]
            pos += lengths[i]
            room = forced.get(mid, room_of[i])
            if mid in rare:
                words[rng.randrange(len(words))] = RARE
                plan.rare_rooms[mid] = room
            seq[room] += 1
            created = created0 + step * mid
            body = " ".join(words)
            rows.append(
                (mid, room, seq[room], rng.choice(plan.members[room]), body, fmt_time(created, fmt), searchable(body))
            )
        next_id += n
        yield rows
    plan.last_seq = seq


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for v in values:
        total += v
        yield total


def fmt_time(t: datetime, fmt: str) -> Any:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f") if fmt == "sqlite" else t


# ------------------------------------------------------------------------- fill


def service_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    env.update(
        CHAT_DATABASE_URL=url,
        CHAT_SECRET_KEY=secrets.token_urlsafe(36),
        CHAT_RATE_PER_SECOND="1000000",
        CHAT_RATE_BURST="1000000",
    )
    return env


def prepare_schema(url: str, workdir: Path) -> None:
    env = service_env(url)
    subprocess.run([CHAT_SERVICE, "db", "upgrade"], env=env, cwd=workdir, check=True, capture_output=True)
    subprocess.run(
        [CHAT_SERVICE, "user", "create", "searcher", "--password-stdin"],
        env=env,
        cwd=workdir,
        input=PASSWORD.encode(),
        check=True,
        capture_output=True,
    )


def base_rows(plan: Plan, created0: datetime, fmt: str, password_hash: str) -> dict[str, list[tuple[Any, ...]]]:
    t = fmt_time(created0, fmt)
    users = [(uid, f"user{uid}", f"user{uid}", password_hash, False, t) for uid in range(2, N_USERS + 2)]
    rooms = [
        (rid, "room", f"room-{rid}", f"room-{rid}", "", rid in plan.private, 2 + rid % N_USERS, t, 0)
        for rid in range(1, N_ROOMS + 1)
    ]
    members = [(rid, uid, t, 0) for rid, uids in plan.members.items() for uid in uids]
    return {"users": users, "rooms": rooms, "room_members": members}


def fill_sqlite(path: Path, plan: Plan, created0: datetime, progress: bool) -> float:
    """Fills; returns the seconds spent in the database (generating the bodies excluded)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    (password_hash,) = db.execute("SELECT password_hash FROM users WHERE id = 1").fetchone()
    rows = base_rows(plan, created0, "sqlite", password_hash)
    db.execute("BEGIN")
    db.executemany("INSERT INTO users (id, username, username_key, password_hash, is_admin, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", rows["users"])  # fmt: skip
    db.executemany(
        "INSERT INTO rooms (id, kind, name, name_key, description, private, owner_id, created_at, last_seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows["rooms"],
    )
    db.executemany("INSERT INTO room_members (room_id, user_id, joined_at, last_read_seq) VALUES (?, ?, ?, ?)",
                   rows["room_members"])  # fmt: skip
    db.execute("COMMIT")
    done = 0
    in_db = 0.0
    for batch in messages(plan, created0, "sqlite"):
        t0 = time.perf_counter()
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO messages (id, room_id, seq, user_id, body, created_at, search_text, kind, deleted) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'message', 0)",
            batch,
        )
        db.execute("COMMIT")
        in_db += time.perf_counter() - t0
        done += len(batch)
        if progress and done % 200_000 < BATCH:
            print(f"  {done} messages", file=sys.stderr)
    db.execute("BEGIN")
    db.executemany("UPDATE rooms SET last_seq = ? WHERE id = ?", [(s, r) for r, s in plan.last_seq.items()])
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return in_db


async def fill_postgres(dsn: str, plan: Plan, created0: datetime, progress: bool) -> float:
    import asyncpg

    db = await asyncpg.connect(dsn)
    try:
        password_hash = await db.fetchval("SELECT password_hash FROM users WHERE id = 1")
        rows = base_rows(plan, created0, "postgres", password_hash)
        async with db.transaction():
            cols = {
                "users": ["id", "username", "username_key", "password_hash", "is_admin", "created_at"],
                "rooms": [
                    "id",
                    "kind",
                    "name",
                    "name_key",
                    "description",
                    "private",
                    "owner_id",
                    "created_at",
                    "last_seq",
                ],  # fmt: skip
                "room_members": ["room_id", "user_id", "joined_at", "last_read_seq"],
            }
            for name, records in rows.items():
                await db.copy_records_to_table(name, records=records, columns=cols[name])
        done = 0
        columns = ["id", "room_id", "seq", "user_id", "body", "created_at", "search_text"]
        in_db = 0.0
        for batch in messages(plan, created0, "postgres"):
            t0 = time.perf_counter()
            async with db.transaction():
                await db.copy_records_to_table("messages", records=batch, columns=columns)
            in_db += time.perf_counter() - t0
            done += len(batch)
            if progress and done % 200_000 < BATCH:
                print(f"  {done} messages", file=sys.stderr)
        async with db.transaction():
            await db.executemany(
                "UPDATE rooms SET last_seq = $1 WHERE id = $2",
                [(s, r) for r, s in plan.last_seq.items()],
            )
            for name in ("users", "rooms", "messages"):
                await db.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
        # What autovacuum would have done by the time a store holds a million messages.
        t0 = time.perf_counter()
        await db.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        return in_db
    finally:
        await db.close()


# ---------------------------------------------------------------------- measure


@contextlib.contextmanager
def serve(url: str, workdir: Path, core: int) -> Iterator[Server]:
    port = free_port()
    log = workdir / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["taskset", "-c", str(core), CHAT_SERVICE, "serve", "--port", str(port), "--log-level", "warning"],
            cwd=workdir,
            env=service_env(url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    srv = Server("service", port, proc, log)
    try:
        wait_ready(srv, timeout=120)
        yield srv
    finally:
        stop(srv)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(client: httpx.Client, path: str, params: dict[str, Any], n: int, warmup: int) -> tuple[list[float], Any]:
    body: Any = None
    for _ in range(warmup):
        client.get(path, params=params).raise_for_status()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(path, params=params)
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
        body = r.json()
    return times, body


def queries(plan: Plan) -> dict[str, dict[str, Any]]:
    w = plan.words
    return {
        "rare word": {"q": RARE},
        "common word, page 1": {"q": w[0], "limit": 20},
        "two words (AND)": {"q": f"{w[3]} {w[40]}", "limit": 20},
        "phrase": {"q": f'"{w[1]} {w[2]}"', "limit": 20},
        "prefix": {"q": w[10][:3] + "*", "limit": 20},
        "mid-frequency word": {"q": w[1000], "limit": 20},
    }


def measure(url: str, workdir: Path, plan: Plan, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    problems: list[str] = []
    with serve(url, workdir, args.server_core) as srv, httpx.Client(base_url=f"http://127.0.0.1:{srv.port}") as c:
        r = c.post("/api/v1/auth/token", data={"username": "searcher", "password": PASSWORD})
        r.raise_for_status()
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        ref, _ = timed(c, "/api/v1/users/me", {}, args.requests, args.warmup)
        out["reference /users/me"] = summary(ref)
        for name, params in queries(plan).items():
            times, body = timed(c, "/api/v1/search", params, args.requests, args.warmup)
            row = summary(times)
            row["items"] = len(body["items"])
            row["has_more"] = body["has_more"]
            out[name] = row
            problems += check_page(plan, name, params, body)
        # Correctness: every readable rare message, no other.
        found = [m["id"] for m in page_all(c, {"q": RARE, "limit": 100})]
        expected = [mid for mid, room in plan.rare_rooms.items() if plan.readable(room)]
        if sorted(found) != sorted(expected):
            problems.append(f"rare word: found {sorted(found)}, expected {sorted(expected)}")
        out["rare word"]["found"] = len(found)
        out["rare word"]["planted"] = len(plan.rare_ids)
        out["rare word"]["readable"] = len(expected)
        # Server-side paging: the second page of the common word.
        first = out["common word, page 1"]
        last_id = c.get("/api/v1/search", params=queries(plan)["common word, page 1"]).json()["items"][-1]["id"]
        times, body = timed(c, "/api/v1/search", {"q": plan.words[0], "limit": 20, "before_id": last_id},
                            args.requests, args.warmup)  # fmt: skip
        out["common word, page 2 (before_id)"] = summary(times) | {"items": len(body["items"])}
        if first["items"] != 20 or any(m["id"] >= last_id for m in body["items"]):
            problems.append("common word: paging is wrong")
        times, body = timed(c, "/api/v1/search", {"q": plan.words[0], "limit": 20, "room_id": 1},
                            args.requests, args.warmup)  # fmt: skip
        out["common word in one room"] = summary(times) | {"items": len(body["items"])}
    ref_median = out["reference /users/me"]["median_ms"]
    for name, row in out.items():
        if name != "reference /users/me":
            row["search_cost_ms"] = round(row["median_ms"] - ref_median, 2)
    return {"timings": out, "problems": problems}


def page_all(c: httpx.Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        body = c.get("/api/v1/search", params=params).raise_for_status().json()
        items += body["items"]
        if not body["has_more"]:
            return items
        params = params | {"before_id": body["items"][-1]["id"]}


def check_page(plan: Plan, name: str, params: dict[str, Any], body: dict[str, Any]) -> list[str]:
    problems = []
    ids = [m["id"] for m in body["items"]]
    if ids != sorted(ids, reverse=True):
        problems.append(f"{name}: not newest first")
    for m in body["items"]:
        if not plan.readable(m["room_id"]):
            problems.append(f"{name}: message {m['id']} of unreadable room {m['room_id']}")
        words = m["body"].split()
        for term in params["q"].strip('"').split():
            ok = any(x.startswith(term[:-1]) for x in words) if term.endswith("*") else term in words
            if not ok:
                problems.append(f"{name}: message {m['id']} lacks {term!r}")
    if name != "rare word" and len(ids) != params.get("limit", 20):
        problems.append(f"{name}: {len(ids)} items, expected a full page")
    return problems


def summary(times: list[float]) -> dict[str, Any]:
    return {
        "n": len(times),
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "max_ms": round(max(times), 2),
    }


# -------------------------------------------------------------------------- run


def run_engine(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    plan = make_plan(args.messages, args.seed)
    created0 = datetime.now(UTC) - timedelta(milliseconds=50 * (args.messages + 10))
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-search-{engine}-", dir=args.db_dir))
    dbname = f"bench_search_{os.getpid()}_{secrets.token_hex(4)}"
    admin = args.pg_dsn.rstrip("/")
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir}/search.db"
    else:
        asyncio.run(_pg(admin + "/postgres", f'CREATE DATABASE "{dbname}"'))
        url = "postgresql+asyncpg://" + admin.split("://", 1)[1] + "/" + dbname
    print(f"{engine}: filling {args.messages} messages ({workdir})", file=sys.stderr)
    try:
        prepare_schema(url, workdir)
        t0 = time.perf_counter()
        if engine == "sqlite":
            in_db = fill_sqlite(workdir / "search.db", plan, created0, progress=True)
        else:
            in_db = asyncio.run(fill_postgres(admin + "/" + dbname, plan, created0, progress=True))
        fill_s = time.perf_counter() - t0
        size = db_size(engine, workdir, admin + "/" + dbname)
        print(f"{engine}: filled in {fill_s:.1f} s; measuring", file=sys.stderr)
        result = measure(url, workdir, plan, args)
        result |= {"engine": engine, "messages": args.messages, "fill_s": round(fill_s, 1)}
        result["insert_s"] = round(in_db, 1)  # the messages' inserts alone, index included
        result["insert_msgs_per_s"] = round(args.messages / in_db)
        result["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
        result["db_size"] = size
        return result
    finally:
        if engine == "postgres" and not args.keep:
            asyncio.run(_pg(admin + "/postgres", f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        elif engine == "postgres":
            print(f"  kept database {dbname}", file=sys.stderr)
        if args.keep:
            print(f"  kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def _pg(dsn: str, sql: str) -> Any:
    import asyncpg

    db = await asyncpg.connect(dsn)
    try:
        return await db.fetch(sql)
    finally:
        await db.close()


def db_size(engine: str, workdir: Path, dsn: str) -> dict[str, int]:
    if engine == "sqlite":
        return {"file_mb": round((workdir / "search.db").stat().st_size / 2**20)}
    sql = (
        "SELECT pg_database_size(current_database()) AS db, pg_relation_size('ix_messages_search') AS gin, "
        "pg_total_relation_size('messages') AS messages"
    )
    (row,) = asyncio.run(_pg(dsn, sql))
    return {k + "_mb": round(v / 2**20) for k, v in dict(row).items()}


def report(results: list[dict[str, Any]]) -> str:
    lines = ["| engine | query | median ms | p95 ms | median − /users/me ms | items |", "|---|---|---|---|---|---|"]
    for res in results:
        for name, row in res["timings"].items():
            cost = row.get("search_cost_ms", "")
            lines.append(
                f"| {res['engine']} | {name} | {row['median_ms']} | {row['p95_ms']} | {cost} | {row.get('items', '')} |"
            )
    lines.append("")
    for res in results:
        rare = res["timings"]["rare word"]
        lines.append(
            f"- {res['engine']}: {res['messages']} messages filled in {res['fill_s']} s "
            f"(inserts {res['insert_s']} s, {res['insert_msgs_per_s']} msg/s, index included), "
            f"size {res['db_size']}; rare word found {rare['found']} of {rare['readable']} readable "
            f"({rare['planted']} planted); load average {res['loadavg']}; problems: {res['problems'] or 'none'}"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="sqlite")
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=50, help="timed requests per query kind")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432", help="server, without a database")
    p.add_argument("--db-dir", default=None, help="where the SQLite file and logs go (default: a temp dir)")
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the work directory (SQLite file, server log), the PostgreSQL database",
    )
    p.add_argument("--json", default=None, help="write the results here as JSON")
    args = p.parse_args()
    engines = ("sqlite", "postgres") if args.engine == "both" else (args.engine,)
    results = [run_engine(e, args) for e in engines]
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 1 if any(r["problems"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
