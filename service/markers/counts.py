"""What lies above a marker, counted from one index each and never from the table:
only the entries above the marker are read, however long the room or thread.

`thread` is a thread's root seq, or None for the room's top-level messages. The
conditions spelled as text are the partial indexes' own: SQLite uses a partial
index only for a query whose WHERE names its condition."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, false, func, select, text

from service import tables

_messages = tables.messages
_mentions = tables.mentions


def _in_thread(column: ColumnElement[Any], thread: ColumnElement[Any] | int | None) -> ColumnElement[bool]:
    return column.is_(None) if thread is None else column == thread


def unread_replies(
    room_id: ColumnElement[Any], thread: ColumnElement[Any], after: ColumnElement[Any], user_id: int
) -> ScalarSelect[int]:
    """Replies of others in the thread above `after`, not deleted: ix_messages_replies
    holds every column named (its condition follows from thread_seq = ...)."""
    return (
        select(func.count())
        .select_from(_messages)
        .where(
            _messages.c.room_id == room_id,
            _messages.c.thread_seq == thread,
            _messages.c.seq > after,
            _messages.c.deleted == false(),
            _messages.c.user_id != user_id,
        )
        .correlate_except(_messages)
        .scalar_subquery()
    )


def named(
    room_id: ColumnElement[Any], thread: ColumnElement[Any] | None, after: ColumnElement[Any], user_id: int
) -> ScalarSelect[int]:
    """Messages above `after` that name the user and do not say `@room` too (those
    are counted by everyone() once): ix_mentions_unread alone. A mention is never
    the author's own, and a delete removes its message's mentions."""
    return (
        select(func.count())
        .select_from(_mentions)
        .where(
            _mentions.c.user_id == user_id,
            _mentions.c.room_id == room_id,
            _in_thread(_mentions.c.thread_seq, thread),
            _mentions.c.seq > after,
            _mentions.c.also_room == false(),
        )
        .correlate_except(_mentions)
        .scalar_subquery()
    )


def everyone(
    room_id: ColumnElement[Any], thread: ColumnElement[Any] | None, after: ColumnElement[Any], user_id: int
) -> ScalarSelect[int]:
    """Messages of others above `after` that say `@room`: ix_messages_room_mentions
    alone (a delete clears mentions_room, so no deleted message is among them)."""
    return (
        select(func.count())
        .select_from(_messages)
        .where(
            _messages.c.room_id == room_id,
            _in_thread(_messages.c.thread_seq, thread),
            _messages.c.seq > after,
            _messages.c.user_id != user_id,
            text("mentions_room"),
        )
        .correlate_except(_messages)
        .scalar_subquery()
    )
