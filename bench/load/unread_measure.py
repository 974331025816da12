"""Unread counts at scale, the measure (bench/run.py --scenarios unread):
GET /api/v1/users/me/rooms for the users unread_fill.py made.

It checks the answer first (every room, each unread as filled, total --unread; 0
for caught_up), then times --requests requests of each user, interleaved with GET
/healthz (the floor: what the HTTP path costs with no work), one at a time over one
keep-alive connection. The server's own time per request is given two ways: wall
time at the client (an upper bound: loopback and the client's reading of the
response are in it), and the CPU time the request took in the service's threads
and, on PostgreSQL, in the backends serving its connections
(/proc/<pid>/task/*/schedstat, in ns, before and after each request: what other
processes do on the machine does not inflate it). It also times the service's own
my_rooms() query in this process, as is and with the count replaced by a stored
column (what a counter design would read), so the count's own cost is their
difference."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from load import procstat
from load.window import now_ns

HELP = "the unread scenario's measure: check the answer, then time requests"


def summary_ms(samples_ns: Sequence[int]) -> dict[str, float | None]:
    if not samples_ns:
        return {"p50_ms": None, "p95_ms": None, "max_ms": None}
    s = sorted(samples_ns)

    def at(q: float) -> float:
        return round(s[min(len(s) - 1, int(q * len(s)))] / 1e6, 2)

    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": round(s[-1] / 1e6, 2)}


def check(answer: dict[str, Any], expected: dict[str, int] | None, rooms: int) -> list[str]:
    """What is wrong with a /users/me/rooms answer: the rooms, each unread, the order."""
    items = answer["items"]
    problems = []
    if len(items) != rooms:
        problems.append(f"{len(items)} rooms listed, {rooms} expected")
    for item in items:
        want = 0 if expected is None else expected.get(str(item["room"]["id"]))
        if item["unread"] != want:
            problems.append(f"room {item['room']['id']}: unread {item['unread']}, expected {want}")
    return problems[:10]


def cpu_ns(pids: Sequence[int]) -> int:
    """CPU time of every thread of these processes, in ns (/proc/<pid>/task/<tid>/schedstat)."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that ended meanwhile
    return total


async def pg_backends(database_url: str) -> list[int]:
    """PostgreSQL server processes serving the service's connections to its database."""
    from sqlalchemy import text

    from service.db import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'"
                )
            )
            return [int(pid) for (pid,) in rows]
    finally:
        await engine.dispose()


def login(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    r = http.post("/api/v1/auth/token", data={"username": username, "password": password})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def measure_http(args: argparse.Namespace, manifest: dict[str, Any]) -> dict[str, Any]:
    users = manifest["users"]
    with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=60) as http:
        auth = {who: login(http, name, manifest["password"]) for who, name in users.items()}
        answers = {who: http.get("/api/v1/users/me/rooms", headers=h) for who, h in auth.items()}
        for r in answers.values():
            r.raise_for_status()
        reader, caught_up = answers["reader"].json(), answers["caught_up"].json()
        problems = check(reader, manifest["unread"], manifest["rooms"])
        problems += [f"caught_up: {p}" for p in check(caught_up, None, manifest["rooms"])]
        kinds = {
            "reader": ("/api/v1/users/me/rooms", auth["reader"]),
            "caught_up": ("/api/v1/users/me/rooms", auth["caught_up"]),
            "healthz": ("/healthz", {}),
        }
        times: dict[str, list[int]] = {k: [] for k in kinds}
        server_cpu: dict[str, list[int]] = {k: [] for k in kinds}
        db_cpu: dict[str, list[int]] = {k: [] for k in kinds}
        for _ in range(args.warmup):
            for path, headers in kinds.values():
                http.get(path, headers=headers).raise_for_status()
        # PostgreSQL does the query in its own processes: their CPU is counted apart.
        postgres = bool(args.database_url) and args.database_url.startswith("postgresql")
        backends = asyncio.run(pg_backends(args.database_url)) if postgres else []
        server = [args.server_pid]
        busy0 = procstat.cores_busy_seconds(args.server_cores)
        cpu0 = cpu_ns(server)
        t0 = now_ns()
        for _ in range(args.requests):
            for kind, (path, headers) in kinds.items():
                s0, d0 = cpu_ns(server), cpu_ns(backends)
                t = now_ns()
                r = http.get(path, headers=headers)
                times[kind].append(now_ns() - t)
                server_cpu[kind].append(cpu_ns(server) - s0)
                db_cpu[kind].append(cpu_ns(backends) - d0)
                if r.status_code != 200:
                    problems.append(f"{kind}: HTTP {r.status_code}")
        wall = (now_ns() - t0) / 1e9
        cpu = (cpu_ns(server) - cpu0) / 1e9
        others = procstat.cores_busy_seconds(args.server_cores) - busy0 - cpu
    n = args.requests
    out: dict[str, Any] = {
        "requests_each": n,
        "unread_total": sum(item["unread"] for item in reader["items"]),
        "rooms_listed": len(reader["items"]),
        "caught_up_unread_total": sum(item["unread"] for item in caught_up["items"]),
        "response_bytes": len(answers["reader"].content),
        "problems": problems,
        "others_server_core_pct": round(max(0.0, others) * 100 / (wall * len(args.server_cores)), 1),
    }
    for kind in kinds:
        out[kind] = {
            **summary_ms(times[kind]),
            **{f"server_cpu_{k}": v for k, v in summary_ms(server_cpu[kind]).items()},
            **({f"db_cpu_{k}": v for k, v in summary_ms(db_cpu[kind]).items()} if backends else {}),
        }
    out["postgres_backends"] = len(backends)
    # The floor taken out: what the request costs beyond an empty one, at the median.
    floor = out["healthz"]["p50_ms"]
    out["reader"]["p50_minus_healthz_ms"] = round(out["reader"]["p50_ms"] - floor, 2)
    out["caught_up"]["p50_minus_healthz_ms"] = round(out["caught_up"]["p50_ms"] - floor, 2)
    return out


async def measure_query(args: argparse.Namespace, manifest: dict[str, Any]) -> dict[str, Any]:
    """The service's my_rooms() in this process, and the same query reading a stored counter instead."""
    from sqlalchemy import func, literal, select

    from service.auth.models import User
    from service.db import create_engine, create_sessionmaker
    from service.markers.service import my_rooms
    from service.messages.models import Message
    from service.rooms.models import Room, RoomMember

    engine = create_engine(args.database_url)
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        reader = await session.scalar(select(User).where(User.username == manifest["users"]["reader"]))
    assert reader is not None

    async def without_count() -> None:
        # my_rooms() with unread read from a column (room_members.last_read_seq stands in for it).
        last_event_at = (
            select(Message.created_at).where(Message.room_id == Room.id, Message.seq == Room.last_seq).scalar_subquery()
        )
        async with sessions() as session:
            rows = await session.execute(
                select(Room, RoomMember.last_read_seq, RoomMember.last_read_seq + literal(0))
                .join(RoomMember, RoomMember.room_id == Room.id)
                .where(RoomMember.user_id == reader.id)
                .order_by(func.coalesce(last_event_at, Room.created_at).desc(), Room.id.desc())
            )
            rows.all()

    async def with_count() -> None:
        async with sessions() as session:
            rows, _ = await my_rooms(session, reader, limit=500)
        # Each row's third field is its unread, whatever follows (mentions, since threads).
        if sum(row[2] for row in rows) != manifest["unread_total"]:
            raise RuntimeError("my_rooms() disagrees with the fill")

    times: dict[str, list[int]] = {"my_rooms": [], "my_rooms_without_count": []}
    for _ in range(args.warmup):
        await with_count()
        await without_count()
    for _ in range(args.query_runs):
        t = now_ns()
        await with_count()
        times["my_rooms"].append(now_ns() - t)
        t = now_ns()
        await without_count()
        times["my_rooms_without_count"].append(now_ns() - t)
    await engine.dispose()
    out = {k: summary_ms(v) for k, v in times.items()}
    out["count_p50_ms"] = round(out["my_rooms"]["p50_ms"] - out["my_rooms_without_count"]["p50_ms"], 2)  # type: ignore[operator]
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    manifest = json.loads(Path(args.manifest).read_text())
    args.server_cores = os.sched_getaffinity(args.server_pid)
    result = {"phase": args.phase, **await asyncio.to_thread(measure_http, args, manifest)}
    if args.database_url:
        result["query_in_process"] = await measure_query(args, manifest)
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--database-url", help="also time my_rooms() in this process on that database")
    p.add_argument("--requests", type=int, default=300, help="timed requests of each kind")
    p.add_argument("--query-runs", type=int, default=100, help="timed my_rooms() calls in this process")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--phase", default="", help="a label for the output")
