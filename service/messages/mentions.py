"""Mentions (docs/stream-entries.md, Mentions): who a body names, resolved against the room's members
when a message is stored and again when it is edited, and the rows that mention
counts read (one per user named, never the author)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, delete, insert, select

from service.tables import mentions, room_members, users

MAX_MENTIONS: Final = 50  # users one message mentions
# Distinct names one body has looked up: a body of "@ab @cd …" costs no more than this.
MAX_NAMES: Final = 100
ROOM: Final = "room"  # `@room`: every member
# `@` at the start or after a character no username has; the name runs as far as
# username characters do (docs/protocol.md: usernames are [A-Za-z0-9_.-], 3 to 32 of them).
_MENTION = re.compile(r"(?<![A-Za-z0-9_.-])@([A-Za-z0-9_.-]+)")
_NAME_LENGTHS = range(3, 33)
_CHUNK = 500  # names per look-up statement, well below any driver's parameter limit


@dataclass(frozen=True, slots=True)
class Named:
    """What a body names, lowercased, in order of first appearance: each run after
    `@` with the same run without trailing `.` and `-` (so "@bob." at a sentence's
    end names bob), and whether it says `@room`."""

    runs: tuple[tuple[str, str], ...] = ()
    room: bool = False

    def names(self) -> set[str]:
        """The names worth looking up."""
        return {name for run in self.runs for name in run if len(name) in _NAME_LENGTHS}


NOBODY: Final = Named()


def named(body: str) -> Named:
    if "@" not in body:
        return NOBODY
    runs: list[tuple[str, str]] = []
    seen: set[str] = set()
    room = False
    for match in _MENTION.finditer(body):
        run = match.group(1).lower()
        trimmed = run.rstrip(".-")
        if ROOM in (run, trimmed):
            room = True
        elif run not in seen and len(seen) < MAX_NAMES:
            seen.add(run)
            runs.append((run, trimmed))
    return Named(tuple(runs), room)


def resolve(said: Named, members: Mapping[str, int], author: int) -> tuple[int, ...]:
    """The members named (by lowercased name) but the author, in order of first
    appearance, at most MAX_MENTIONS."""
    ids: list[int] = []
    for run, trimmed in said.runs:
        user_id = members.get(run) or members.get(trimmed)
        if user_id is not None and user_id != author and user_id not in ids:
            ids.append(user_id)
            if len(ids) == MAX_MENTIONS:
                break
    return tuple(ids)


def members_named(conn: Connection, wanted: Mapping[int, set[str]]) -> dict[int, dict[str, int]]:
    """For each room, its members among the names wanted there: {room: {name: user id}}."""
    found: dict[int, dict[str, int]] = {room_id: {} for room_id in wanted}
    names = sorted(set().union(*wanted.values())) if wanted else []
    for start in range(0, len(names), _CHUNK):
        rows = conn.execute(
            select(room_members.c.room_id, users.c.username_key, users.c.id)
            .join(users, users.c.id == room_members.c.user_id)
            .where(room_members.c.room_id.in_(list(wanted)), users.c.username_key.in_(names[start : start + _CHUNK]))
        )
        for room_id, name, user_id in rows:
            if name in wanted[room_id]:
                found[room_id][name] = user_id
    return found


@dataclass(frozen=True, slots=True)
class MentionRow:
    """The rows of one message: a row per user named."""

    message_id: int
    room_id: int
    seq: int
    thread_seq: int | None
    user_ids: tuple[int, ...]
    also_room: bool


def write_rows(conn: Connection, messages: Iterable[MentionRow]) -> None:
    rows = [
        {
            "user_id": user_id,
            "message_id": m.message_id,
            "room_id": m.room_id,
            "seq": m.seq,
            "thread_seq": m.thread_seq,
            "also_room": m.also_room,
        }
        for m in messages
        for user_id in m.user_ids
    ]
    if rows:
        conn.execute(insert(mentions), rows)


def clear_rows(conn: Connection, message_id: int) -> None:
    conn.execute(delete(mentions).where(mentions.c.message_id == message_id))
