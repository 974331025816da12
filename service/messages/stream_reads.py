"""Reading a room's stream (replay, catch-up, the events page) and its history
(messages only, in their current state)."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import joinedload

from service import tables
from service.messages.entries import StoredDelete, StoredEdit, StoredMessage, StreamEvent
from service.messages.models import DELETE, EDIT, MESSAGE, Message

_messages = tables.messages
_users = tables.users

# The columns of a StoredMessage, in its field order.
STORED = select(
    _messages.c.id,
    _messages.c.room_id,
    _messages.c.seq,
    _messages.c.user_id,
    _users.c.username,
    _messages.c.body,
    _messages.c.client_msg_id,
    _messages.c.created_at,
    _messages.c.edited_at,
    _messages.c.deleted,
).join(_users, _users.c.id == _messages.c.user_id)
_STREAM = STORED.add_columns(_messages.c.kind, _messages.c.target_seq)


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
    query = _STREAM.where(_messages.c.room_id == room_id, _messages.c.seq > after)
    if upto is not None:
        query = query.where(_messages.c.seq <= upto)
    query = query.order_by(_messages.c.seq.desc() if newest else _messages.c.seq).limit(limit)
    events = [_event(row) for row in await conn.execute(query)]
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
    terms = [
        and_(_messages.c.room_id == room_id, _messages.c.seq > after, _messages.c.seq <= upto)
        for room_id, after, upto in ranges
    ]
    found: dict[int, list[StreamEvent]] = {room_id: [] for room_id, _, _ in ranges}
    # No ORDER BY: the ranges come out of the index one after another, and sorting
    # them here spares SQLite a temporary B-tree.
    for row in await conn.execute(_STREAM.where(or_(*terms))):
        event = _event(row)
        found[event.room_id].append(event)
    for events in found.values():
        events.sort(key=attrgetter("seq"))
    return found


async def start_of_newest(conn: AsyncConnection | AsyncSession, room_id: int, count: int, upto: int) -> int:
    """The seq just before the `count`-th newest message up to `upto`: a replay after
    it brings the newest `count` messages and the edits and deletes among them."""
    if count <= 0:
        return upto
    seq = await conn.scalar(
        select(_messages.c.seq)
        .where(_messages.c.room_id == room_id, _messages.c.seq <= upto, _messages.c.kind == MESSAGE)
        .order_by(_messages.c.seq.desc())
        .offset(count - 1)
        .limit(1)
    )
    return 0 if seq is None else seq - 1


def _event(row: Sequence[object]) -> StreamEvent:
    *fields, kind, target_seq = row
    if kind == MESSAGE:
        return StoredMessage(*fields)  # type: ignore[arg-type]
    _id, room_id, seq, user_id, username, body, _cid, created_at, _edited, _deleted = fields
    if kind == EDIT:
        return StoredEdit(room_id, seq, target_seq, user_id, username, body, created_at)  # type: ignore[arg-type]
    assert kind == DELETE
    return StoredDelete(room_id, seq, target_seq, user_id, username)  # type: ignore[arg-type]


async def history(
    session: AsyncSession, room_id: int, *, after_seq: int | None, before_seq: int | None, limit: int
) -> tuple[Sequence[Message], bool]:
    """A page of messages (no events) in ascending seq, and whether more lie beyond
    it in the paging direction. after_seq pages forwards from the oldest; before_seq
    alone, or no cursor, pages backwards from the newest."""
    query = select(Message).options(joinedload(Message.user)).where(Message.room_id == room_id, Message.kind == MESSAGE)
    if after_seq is not None:
        query = query.where(Message.seq > after_seq)
    if before_seq is not None:
        query = query.where(Message.seq < before_seq)
    forwards = after_seq is not None
    query = query.order_by(Message.seq if forwards else Message.seq.desc()).limit(limit + 1)
    rows = list(await session.scalars(query))
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not forwards:
        rows.reverse()
    return rows, has_more
