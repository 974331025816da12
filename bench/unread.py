"""Unread counts at scale: GET /api/v1/users/me/rooms for a user in many rooms with
many unread messages, against a running service (bench/run.py --scenarios unread
starts one on a fresh database and runs these steps).

    python bench/unread.py fill --port P --database-url URL --manifest m.json   # users over REST, the rest in SQL
    python bench/unread.py measure --port P --server-pid PID --manifest m.json  # prints one JSON line
    python bench/unread.py vacuum --database-url URL                            # PostgreSQL: VACUUM ANALYZE

The database gets two users who log in, `reader` and `caught_up`, both members of
the same --rooms rooms; `reader` has --unread messages of others above its markers
in all (spread unevenly, some rooms at 0), `caught_up` has read everything. Rows
above and below the markers mix in the reader's own messages (below its marker
only: sending moves the sender's marker), edits, deletes (tombstone + delete event)
and messages of --authors other users; --other-rooms rooms the two are not in hold
the rest of --other-rows. Everything except the two users is written straight to
the tables in a few statements.

`measure` checks the answer first (every room, each unread as filled, total
--unread; 0 for caught_up), then times --requests requests of each user,
interleaved with GET /healthz (the floor: what the HTTP path costs with no work),
one at a time over one keep-alive connection. The server's own time per request
is given two ways: wall time at the client (an upper bound: loopback and the client's
reading of the response are in it), and the CPU time the request took in the
service's threads and, on PostgreSQL, in the backends serving its connections
(/proc/<pid>/task/*/schedstat, in ns, before and after each request: what other
processes do on the machine does not inflate it). It also times the
service's own my_rooms() query in this process, as is and with the count replaced
by a stored column (what a counter design would read), so the count's own cost is
their difference."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import procstat

PASSWORD = "bench-password-1"
CHUNK = 5_000  # rows per executemany
now_ns = time.perf_counter_ns


# ------------------------------------------------------------------------ fill


@dataclass
class Entry:
    """One row of messages."""

    seq: int
    kind: str
    user: int  # index: 0 reader, 1 caught_up, 2.. authors
    target_seq: int | None = None
    body: str | None = None
    edited: bool = False
    deleted: bool = False


@dataclass
class RoomPlan:
    name: str
    member: bool  # reader and caught_up are members
    authors: list[int]
    entries: list[Entry] = field(default_factory=list)
    marker: int = 0  # the reader's last_read_seq
    unread: int = 0  # expected for the reader


class Stream:
    """Builds one room's stream: messages, edits, deletes, in seq order."""

    def __init__(self, plan: RoomPlan, rng: random.Random, p_edit: float, p_delete: float) -> None:
        self.plan, self.rng, self.p_edit, self.p_delete = plan, rng, p_edit, p_delete
        self.live: list[Entry] = []  # messages not deleted, any author
        self.edits: dict[int, list[Entry]] = {}  # message seq -> its edit events
        self.marker: int | None = None  # once set: the reader's marker
        self.unread = 0  # counted messages above the marker

    def _append(self, kind: str, user: int, **fields: Any) -> Entry:
        entry = Entry(len(self.plan.entries) + 1, kind, user, **fields)
        self.plan.entries.append(entry)
        return entry

    def _counted(self, entry: Entry) -> bool:
        return self.marker is not None and entry.seq > self.marker and entry.user != 0

    def message(self, user: int) -> None:
        body = f"message {len(self.plan.entries) + 1} " + "x" * self.rng.randint(10, 120)
        entry = self._append("message", user, body=body)
        self.live.append(entry)
        self.unread += self._counted(entry)

    def mark_read(self) -> None:
        self.marker = len(self.plan.entries)

    def _recent(self) -> int:
        """Index in live of a message to change: mostly one of the last few dozen."""
        if self.rng.random() < 0.8:
            return len(self.live) - self.rng.randint(1, min(len(self.live), 30))
        return self.rng.randrange(len(self.live))

    def maybe_change(self) -> None:
        """Now and then an edit or a delete (by its author) of a message of the room, most often a recent one."""
        if self.live and self.rng.random() < self.p_edit:
            target = self.live[self._recent()]
            target.edited, target.body = True, f"edited {target.seq}"
            edit = self._append("edit", target.user, target_seq=target.seq, body=target.body)
            self.edits.setdefault(target.seq, []).append(edit)
        if self.live and self.rng.random() < self.p_delete:
            target = self.live.pop(self._recent())
            target.deleted, target.body = True, None
            for edit in self.edits.get(target.seq, ()):  # a delete empties the edits of its message
                edit.body = None
            self._append("delete", target.user, target_seq=target.seq)
            self.unread -= self._counted(target)


def spread(total: int, weights: Sequence[float]) -> list[int]:
    """total split in proportion to weights, in integers summing to total (largest remainder)."""
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    parts = [math.floor(s) for s in shares]
    for i in sorted(range(len(shares)), key=lambda i: parts[i] - shares[i])[: total - sum(parts)]:
        parts[i] += 1
    return parts


def plan_rooms(args: argparse.Namespace) -> list[RoomPlan]:
    rng = random.Random(args.seed)
    n_authors = args.authors
    run = secrets.token_hex(3)
    # Unread per room: uneven (log-normal), a fifth of the rooms read to the end.
    weights = [0.0 if rng.random() < 0.2 else rng.lognormvariate(0, 1) for _ in range(args.rooms)]
    unread = spread(args.unread, weights)
    history = spread(args.history, [rng.lognormvariate(0, 0.8) for _ in range(args.rooms)])
    others = spread(args.other_rows, [rng.lognormvariate(0, 0.8) for _ in range(args.other_rooms)])
    plans = []
    for r in range(args.rooms):
        authors = rng.sample(range(2, 2 + n_authors), min(n_authors, rng.randint(3, 12)))
        plan = RoomPlan(f"unread-{run}-{r}", True, authors)
        stream = Stream(plan, rng, args.edit_rate, args.delete_rate)
        while len(plan.entries) < history[r]:
            stream.message(0 if rng.random() < 0.1 else rng.choice(authors))
            stream.maybe_change()
        # Above the marker: others' messages, some deleted again, and edits.
        stream.mark_read()
        while stream.unread < unread[r]:
            stream.message(rng.choice(authors))
            stream.maybe_change()
        assert stream.marker is not None
        plan.marker, plan.unread = stream.marker, stream.unread
        plans.append(plan)
    for r in range(args.other_rooms):
        plan = RoomPlan(f"other-{run}-{r}", False, rng.sample(range(2, 2 + n_authors), min(n_authors, 6)))
        stream = Stream(plan, rng, args.edit_rate, args.delete_rate)
        while len(plan.entries) < others[r]:
            stream.message(rng.choice(plan.authors))
            stream.maybe_change()
        plans.append(plan)
    return plans


async def register(port: int, names: Sequence[str]) -> list[int]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=120) as http:
        ids = []
        for name in names:
            r = await http.post("/auth/register", json={"username": name, "password": PASSWORD})
            r.raise_for_status()
            ids.append(int(r.json()["id"]))
        return ids


async def fill(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import Table, insert, text

    from service.auth.models import User
    from service.db import create_engine
    from service.messages.models import Message
    from service.rooms.models import Room, RoomMember

    users_t: Table = User.__table__  # type: ignore[assignment]
    rooms_t: Table = Room.__table__  # type: ignore[assignment]
    members_t: Table = RoomMember.__table__  # type: ignore[assignment]
    messages_t: Table = Message.__table__  # type: ignore[assignment]

    t_start = now_ns()
    plans = plan_rooms(args)
    t_planned = now_ns()
    run = secrets.token_hex(3)
    names = [f"reader_{run}", f"caught_up_{run}"]
    user_ids = await register(args.port, names)  # real password hashes: these two log in
    engine = create_engine(args.database_url)
    now = datetime.now(UTC)
    rng = random.Random(args.seed + 1)
    async with engine.begin() as conn:
        author_rows = [
            {
                "username": f"author_{run}_{i}",
                "username_key": f"author_{run}_{i}",
                "password_hash": "!",
                "created_at": now,
            }
            for i in range(args.authors)
        ]
        result = await conn.execute(insert(users_t).returning(users_t.c.id, sort_by_parameter_order=True), author_rows)
        user_ids += list(result.scalars())
        room_rows = []
        ends = []
        for plan in plans:
            # Each room's last entry some time in the last week, one entry a minute before it.
            end = now - timedelta(seconds=rng.uniform(60, 7 * 86400))
            ends.append(end)
            room_rows.append(
                {
                    "name": plan.name,
                    "name_key": plan.name,
                    "description": "",
                    "private": False,
                    "owner_id": user_ids[plan.authors[0]],
                    "created_at": end - timedelta(minutes=len(plan.entries) + 60),
                    "last_seq": len(plan.entries),
                }
            )
        result = await conn.execute(insert(rooms_t).returning(rooms_t.c.id, sort_by_parameter_order=True), room_rows)
        room_ids = list(result.scalars())
        member_rows = []
        for plan, room_id, room in zip(plans, room_ids, room_rows, strict=True):
            joined = room["created_at"]
            last = len(plan.entries)
            for a in plan.authors:
                member_rows.append(
                    {"room_id": room_id, "user_id": user_ids[a], "joined_at": joined, "last_read_seq": last}
                )
            if plan.member:
                member_rows.append(
                    {"room_id": room_id, "user_id": user_ids[0], "joined_at": joined, "last_read_seq": plan.marker}
                )
                member_rows.append(
                    {"room_id": room_id, "user_id": user_ids[1], "joined_at": joined, "last_read_seq": last}
                )
        for i in range(0, len(member_rows), CHUNK):
            await conn.execute(insert(members_t), member_rows[i : i + CHUNK])
        # Messages in time order across rooms, as they were written: the unread ones, the newest
        # of each room, lie among other rooms' rows in the table (and in PostgreSQL's heap pages).
        entries = sorted(
            (end - timedelta(minutes=len(plan.entries) - e.seq), room_id, e)
            for plan, room_id, end in zip(plans, room_ids, ends, strict=True)
            for e in plan.entries
        )
        for i in range(0, len(entries), CHUNK):
            rows = [
                {
                    "room_id": room_id,
                    "seq": e.seq,
                    "kind": e.kind,
                    "target_seq": e.target_seq,
                    "user_id": user_ids[e.user],
                    "body": e.body,
                    "client_msg_id": None,
                    "created_at": at,
                    "edited_at": at + timedelta(seconds=30) if e.edited else None,
                    "deleted": e.deleted,
                }
                for at, room_id, e in entries[i : i + CHUNK]
            ]
            await conn.execute(insert(messages_t), rows)
    t_filled = now_ns()
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            # Statistics as autovacuum would have gathered them; no VACUUM yet (see `vacuum`): the
            # newest rows, the unread ones, are the last to be marked all-visible.
            await conn.execute(text("ALTER TABLE messages SET (autovacuum_enabled = false)"))
            await conn.execute(text("ANALYZE"))
    await engine.dispose()
    member_plans = [(p, rid) for p, rid in zip(plans, room_ids, strict=True) if p.member]
    above = [e for p, _ in member_plans for e in p.entries[p.marker :]]
    manifest = {
        "users": {"reader": names[0], "caught_up": names[1]},
        "password": PASSWORD,
        "rooms": args.rooms,
        "unread": {str(rid): p.unread for p, rid in member_plans},
        "unread_total": sum(p.unread for p, _ in member_plans),
    }
    Path(args.manifest).write_text(json.dumps(manifest))
    return {
        "rooms": args.rooms,
        "other_rooms": args.other_rooms,
        "authors": args.authors,
        "unread_total": manifest["unread_total"],
        "rooms_with_unread": sum(1 for p, _ in member_plans if p.unread),
        "max_unread_in_a_room": max(p.unread for p, _ in member_plans),
        "message_rows": len(entries),
        "member_room_rows": sum(len(p.entries) for p, _ in member_plans),
        "rows_above_markers": len(above),
        "above_markers": {
            "deleted_messages": sum(1 for e in above if e.kind == "message" and e.deleted),
            "edit_events": sum(1 for e in above if e.kind == "edit"),
            "delete_events": sum(1 for e in above if e.kind == "delete"),
        },
        "edit_events": sum(1 for p in plans for e in p.entries if e.kind == "edit"),
        "delete_events": sum(1 for p in plans for e in p.entries if e.kind == "delete"),
        "member_rows": len(member_rows),
        "plan_s": round((t_planned - t_start) / 1e9, 1),
        "fill_s": round((t_filled - t_planned) / 1e9, 1),
    }


async def vacuum(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import text

    from service.db import create_engine

    engine = create_engine(args.database_url)
    t = now_ns()
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE messages"))
    await engine.dispose()
    return {"vacuum_s": round((now_ns() - t) / 1e9, 1)}


# --------------------------------------------------------------------- measure


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
        if sum(n for _, _, n in rows) != manifest["unread_total"]:
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


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    import os

    manifest = json.loads(Path(args.manifest).read_text())
    args.server_cores = os.sched_getaffinity(args.server_pid)
    result = {"phase": args.phase, **await asyncio.to_thread(measure_http, args, manifest)}
    if args.database_url:
        result["query_in_process"] = await measure_query(args, manifest)
    return result


# ------------------------------------------------------------------------- CLI


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("fill", help="users over REST, rooms, memberships and messages in SQL")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--database-url", required=True, help="the service's CHAT_DATABASE_URL")
    p.add_argument("--manifest", required=True, help="JSON file written for `measure`: users, expected counts")
    p.add_argument("--rooms", type=int, default=200, help="rooms the two users are members of")
    p.add_argument("--unread", type=int, default=50_000, help="the reader's unread messages, all rooms")
    p.add_argument("--history", type=int, default=250_000, help="rows below the reader's markers, all rooms")
    p.add_argument("--other-rooms", type=int, default=300, help="rooms the two users are not in")
    p.add_argument("--other-rows", type=int, default=100_000, help="rows of those rooms, all")
    p.add_argument("--authors", type=int, default=40, help="other users writing (3-12 per room)")
    p.add_argument("--edit-rate", type=float, default=0.05, help="chance of an edit event after each message")
    p.add_argument("--delete-rate", type=float, default=0.04, help="chance of a delete after each message")
    p.add_argument("--seed", type=int, default=13)
    p = sub.add_parser("measure", help="check the answer, then time requests; prints one JSON line")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--database-url", help="also time my_rooms() in this process on that database")
    p.add_argument("--requests", type=int, default=300, help="timed requests of each kind")
    p.add_argument("--query-runs", type=int, default=100, help="timed my_rooms() calls in this process")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--phase", default="", help="a label for the output")
    p = sub.add_parser("vacuum", help="PostgreSQL: VACUUM ANALYZE messages")
    p.add_argument("--database-url", required=True)
    return parser.parse_args(argv)


STEPS = {"fill": fill, "measure": measure, "vacuum": vacuum}

if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    print(json.dumps(asyncio.run(STEPS[arguments.step](arguments))), flush=True)
