"""Threads (SPEC 3.6): what a root is, its counts set again when a reply is
deleted, and the followers' markers (thread_markers: a row per follower and
thread). What a batch of replies does is send_extras.py's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, false, select, text, update

from service.messages.entries import RootCounts
from service.messages.models import MESSAGE
from service.tables import messages

Follow = tuple[int, int, int]  # (user, room, root seq)


@dataclass(frozen=True, slots=True)
class Root:
    """A message that may take replies (top-level, not deleted), as the lock found it."""

    id: int
    author: int
    reply_count: int


def reply_deleted(conn: Connection, room_id: int, root_seq: int, seq: int) -> RootCounts:
    """The root's counts once one of its replies is deleted (the delete at `seq`, already marked)."""
    newest = conn.scalar(
        select(messages.c.created_at)
        .where(messages.c.room_id == room_id, messages.c.thread_seq == root_seq, messages.c.deleted == false())
        .order_by(messages.c.seq.desc())
        .limit(1)
    )
    row = (
        conn.execute(
            update(messages)
            .where(messages.c.room_id == room_id, messages.c.seq == root_seq, messages.c.kind == MESSAGE)
            .values(reply_count=messages.c.reply_count - 1, last_reply_at=newest, updated_seq=seq)
            .returning(messages.c.reply_count)
        )
    ).first()
    return RootCounts(root_seq, row.reply_count if row is not None else 0, newest)


# A follower's marker: created where absent (a new follower has not read the reply
# that made them one), moved forward where the follower wrote the reply.
_CREATE = text("""
INSERT INTO thread_markers (user_id, room_id, root_seq, last_read_seq) VALUES (:user_id, :room_id, :root_seq, :seq)
ON CONFLICT (user_id, room_id, root_seq) DO NOTHING
""")
_MOVE = text("""
INSERT INTO thread_markers (user_id, room_id, root_seq, last_read_seq) VALUES (:user_id, :room_id, :root_seq, :seq)
ON CONFLICT (user_id, room_id, root_seq) DO UPDATE SET last_read_seq = excluded.last_read_seq
WHERE thread_markers.last_read_seq < excluded.last_read_seq
""")


def follow(conn: Connection, *, created: Mapping[Follow, int], moved: Mapping[Follow, int]) -> None:
    """Markers created at a seq where absent, then moved up to a seq; the same
    as taking each reply's in order, since a move only ever goes forward."""
    for statement, markers in ((_CREATE, created), (_MOVE, moved)):
        if markers:
            conn.execute(
                statement,
                [{"user_id": u, "room_id": r, "root_seq": root, "seq": seq} for (u, r, root), seq in markers.items()],
            )


def follows(marks: dict[Follow, int], key: Follow, seq: int, *, lowest: bool) -> None:
    """Keep the lowest (a creation) or the highest (a move) seq per follower and thread."""
    had = marks.get(key)
    if had is None or (seq < had if lowest else seq > had):
        marks[key] = seq
