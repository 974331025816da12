"""Unread counts at scale, the fill (bench/run.py --scenarios unread): a database
with two users who log in, `reader` and `caught_up`, both members of the same
--rooms rooms; `reader` has --unread messages of others above its markers in all
(spread unevenly, some rooms at 0), `caught_up` has read everything. Rows above and
below the markers mix in the reader's own messages (below its marker only: sending
moves the sender's marker), edits, deletes (tombstone + delete event) and messages
of --authors other users; --other-rooms rooms the two are not in hold the rest of
--other-rows. The two users are registered over REST, everything else is written
straight to the tables in a few statements. What `unread-measure` needs goes to
--manifest."""

from __future__ import annotations

import argparse
import json
import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from load.targets import PASSWORD
from load.window import now_ns

HELP = "the unread scenario's database: users over REST, rooms, memberships and messages in SQL"
CHUNK = 5_000  # rows per executemany


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


async def run(args: argparse.Namespace) -> dict[str, Any]:
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


def add_arguments(p: argparse.ArgumentParser) -> None:
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
