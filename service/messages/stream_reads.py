"""Reading a room's stream (replay, catch-up, the events page) and the messages
in their current state (history, a thread, the pins)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service import tables
from service.messages.entries import StoredMessage, StreamEvent
from service.messages.models import MESSAGE
from service.messages.pins import MAX_PINS
from service.messages.stream_rows import STORED, STREAM, event_of, message_of

_messages = tables.messages
# Top-level messages: history's rows (replies live in their threads).
_TOP_LEVEL = STORED.where(_messages.c.kind == MESSAGE, _messages.c.thread_seq.is_(None))


async def read_stored(
    conn: AsyncConnection | AsyncSession,
    room_id: int,
    *,
    after: int,
    upto: int | None = None,
    limit: int,
    newest: bool = False,
) -> list[StreamEvent]:
    """The stream with after < seq <= upto, ascending; the newest `limit` entries
    when `newest`, else the oldest. Plain rows: replay and catch-up send many."""
    query = STREAM.where(_messages.c.room_id == room_id, _messages.c.seq > after)
    if upto is not None:
        query = query.where(_messages.c.seq <= upto)
    query = query.order_by(_messages.c.seq.desc() if newest else _messages.c.seq).limit(limit)
    events = [event_of(row) for row in await conn.execute(query)]
    if newest:
        events.reverse()
    return events


async def read_ranges(
    conn: AsyncConnection | AsyncSession, ranges: Sequence[tuple[int, int, int]]
) -> dict[int, list[StreamEvent]]:
    """For each (room, after, upto): its stream with after < seq <= upto, ascending,
    all rooms in one query (each range an index range on (room_id, seq))."""
    if not ranges:
        return {}
    return ranges_by_room(await conn.execute(ranges_query(ranges)), ranges)


def ranges_query(ranges: Sequence[tuple[int, int, int]]) -> Select[Any]:
    """read_ranges' query (for a synchronous connection too); `ranges` not empty."""
    terms = [
        and_(_messages.c.room_id == room_id, _messages.c.seq > after, _messages.c.seq <= upto)
        for room_id, after, upto in ranges
    ]
    # No ORDER BY: the ranges come out of the index one after another, and sorting
    # them here spares SQLite a temporary B-tree.
    return STREAM.where(or_(*terms))


def ranges_by_room(
    rows: Iterable[Sequence[Any]], ranges: Sequence[tuple[int, int, int]]
) -> dict[int, list[StreamEvent]]:
    """ranges_query's rows as each room's stream, ascending."""
    found: dict[int, list[StreamEvent]] = {room_id: [] for room_id, _, _ in ranges}
    for row in rows:
        event = event_of(row)
        found[event.room_id].append(event)
    for events in found.values():
        events.sort(key=attrgetter("seq"))
    return found


async def stored_under(
    conn: AsyncConnection | AsyncSession, keys: Sequence[tuple[int, int, str]]
) -> dict[tuple[int, int, str], StoredMessage]:
    """Messages already stored under these (room, user, client_msg_id)."""
    if not keys:
        return {}
    key = tuple_(_messages.c.room_id, _messages.c.user_id, _messages.c.client_msg_id)
    rows = [message_of(row) for row in await conn.execute(STORED.where(key.in_(list(set(keys)))))]
    return {(m.room_id, m.user_id, m.client_msg_id): m for m in rows if m.client_msg_id is not None}


def _newest_query() -> Select[Any]:
    """The stream from the `skip`+1-th newest message up to `upto` (from the start
    when there are fewer), after `after`, ascending: the bounds are bound, so the
    statement is built and compiled once."""
    room_id, upto = bindparam("room_id", type_=Integer), bindparam("upto", type_=Integer)
    nth = (
        select(_messages.c.seq)
        .where(_messages.c.room_id == room_id, _messages.c.seq <= upto, _messages.c.kind == MESSAGE)
        .order_by(_messages.c.seq.desc())
        .offset(bindparam("skip", type_=Integer))
        .limit(1)
        .scalar_subquery()
    )
    return (
        STREAM.where(
            _messages.c.room_id == room_id,
            _messages.c.seq <= upto,
            _messages.c.seq > bindparam("after", type_=Integer),
            _messages.c.seq >= func.coalesce(nth, 0),
        )
        .order_by(_messages.c.seq)
        .limit(bindparam("limit", type_=Integer))
    )


_NEWEST = _newest_query()


async def read_newest(
    conn: AsyncConnection | AsyncSession, room_id: int, count: int, *, upto: int, after: int, limit: int
) -> list[StreamEvent]:
    """The stream from the `count`-th newest message up to `upto`, with the edits
    and deletes among them (a replay without `since`), only what lies after
    `after`, the first `limit` entries; in one query."""
    params = {"room_id": room_id, "upto": upto, "after": after, "skip": max(count - 1, 0), "limit": limit}
    return [event_of(row) for row in await conn.execute(_NEWEST, params)]


async def history(
    conn: AsyncConnection | AsyncSession, room_id: int, *, after_seq: int | None, before_seq: int | None, limit: int
) -> tuple[list[StoredMessage], bool]:
    """A page of top-level messages in ascending seq, and whether more lie beyond
    it in the paging direction. after_seq pages forwards from the oldest; before_seq
    alone, or no cursor, pages backwards from the newest."""
    query = _TOP_LEVEL.where(_messages.c.room_id == room_id)
    if after_seq is not None:
        query = query.where(_messages.c.seq > after_seq)
    if before_seq is not None:
        query = query.where(_messages.c.seq < before_seq)
    forwards = after_seq is not None
    query = query.order_by(_messages.c.seq if forwards else _messages.c.seq.desc()).limit(limit + 1)
    rows = [message_of(row) for row in await conn.execute(query)]
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not forwards:
        rows.reverse()
    return rows, has_more


async def message_at(
    conn: AsyncConnection | AsyncSession, room_id: int, seq: int, *, top_level: bool = False
) -> StoredMessage | None:
    """The message at `seq` in its current state; None when no message (or with
    `top_level`, no top-level message) is there."""
    query = (_TOP_LEVEL if top_level else STORED.where(_messages.c.kind == MESSAGE)).where(
        _messages.c.room_id == room_id, _messages.c.seq == seq
    )
    row = (await conn.execute(query)).first()
    return message_of(row) if row is not None else None


async def thread(
    conn: AsyncConnection | AsyncSession, room_id: int, root_seq: int, *, after_seq: int, limit: int
) -> tuple[list[StoredMessage], bool]:
    """A page of a thread's replies in ascending seq (ix_messages_replies), and whether more follow."""
    query = (
        STORED.where(_messages.c.room_id == room_id, _messages.c.thread_seq == root_seq, _messages.c.seq > after_seq)
        .order_by(_messages.c.seq)
        .limit(limit + 1)
    )
    rows = [message_of(row) for row in await conn.execute(query)]
    return rows[:limit], len(rows) > limit


async def pinned(conn: AsyncConnection | AsyncSession, room_id: int) -> list[StoredMessage]:
    """The room's pinned messages, the most recently pinned first (ix_messages_pinned)."""
    query = (
        STORED.where(_messages.c.room_id == room_id, _messages.c.pinned_seq.is_not(None))
        .order_by(_messages.c.pinned_seq.desc())
        .limit(MAX_PINS)
    )
    return [message_of(row) for row in await conn.execute(query)]
