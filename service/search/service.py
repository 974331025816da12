"""Searching the messages a user may read, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, column, false, or_, select, table, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from service import tables
from service.auth.models import User
from service.messages.models import Message
from service.rooms.models import Room, RoomMember
from service.search import query as q
from service.search.deadline import Budget, time_limit

# SQLite's external-content FTS5 table over search_text (migration 0009): its rowid is the message id.
_fts = table("messages_fts", column("rowid"))


def _readable_rooms(user: User) -> ColumnElement[bool]:
    """Messages.room_id among the rooms the user may read (as GET /rooms/{id})."""
    if user.is_admin:
        return true()
    member_of = select(RoomMember.room_id).where(RoomMember.user_id == user.id)
    public = select(Room.id).where(Room.private == false())
    return or_(Message.room_id.in_(member_of), Message.room_id.in_(public))


# PostgreSQL: how many matches a word may have to count as rare (below).
PROBE = 2000


async def _matching(
    session: AsyncSession, terms: list[q.Term], budget: Budget
) -> tuple[Select[int], ColumnElement[Any]]:
    """Ids of the matching messages, and the id column to page and order by."""
    if _dialect(session) == "sqlite":
        # FTS5 walks its doclists newest first and stops at the page's end: rare or
        # common, a page costs about the same.
        ids = (
            select(Message.id)
            .select_from(_fts)
            .join(Message, Message.id == _fts.c.rowid)
            .where(text("messages_fts MATCH :match").bindparams(match=q.fts5(terms)))
        )
        return ids, _fts.c.rowid
    # The driver prepares statements, and after five runs PostgreSQL may switch to one
    # plan for whatever word comes: that plan reads a common word's every match.
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    # Only messages have a tsvector; deleted ones have none. The query's lexemes are
    # folded already, as the index's are (words.py): no text-search parser runs.
    matched = text("messages.search @@ CAST(:match AS tsquery)").bindparams(match=q.tsquery(terms))
    order_id = tables.messages.c.id
    # The planner guesses a rare word's matches badly (a word outside its statistics
    # is taken as common), then walks the primary key backwards through every row:
    # 0.7 s on a million. So look first: the GIN index hands over a rare word's
    # matches whole, in a millisecond; only a word with more than PROBE matches
    # goes to the ordered walk, which finds a page of a common word at once.
    await budget.statement()
    hits = list((await session.scalars(select(Message.id).where(matched).limit(PROBE + 1))).all())
    if len(hits) <= PROBE:
        return select(Message.id).where(order_id.in_(hits)), order_id
    return select(Message.id).where(matched), order_id


def _dialect(session: AsyncSession) -> str:
    bind = session.bind
    assert bind is not None
    return bind.dialect.name


async def search(
    session: AsyncSession,
    user: User,
    terms: list[q.Term],
    *,
    room_id: int | None,
    before_id: int | None,
    limit: int,
    timeout_ms: int,
) -> tuple[Sequence[Message], bool]:
    """Raises Unavailable when the database cannot find them within `timeout_ms`."""
    async with time_limit(session, timeout_ms) as budget:
        return await _search(session, user, terms, budget, room_id=room_id, before_id=before_id, limit=limit)


async def _search(
    session: AsyncSession,
    user: User,
    terms: list[q.Term],
    budget: Budget,
    *,
    room_id: int | None,
    before_id: int | None,
    limit: int,
) -> tuple[Sequence[Message], bool]:
    ids, order_id = await _matching(session, terms, budget)
    ids = ids.where(_readable_rooms(user))
    if room_id is not None:
        ids = ids.where(Message.room_id == room_id)
    if before_id is not None:
        ids = ids.where(order_id < before_id)
    await budget.statement()
    found: list[int] = list((await session.scalars(ids.order_by(order_id.desc()).limit(limit + 1))).all())
    has_more = len(found) > limit
    found = found[:limit]
    if not found:
        return [], has_more
    await budget.statement()
    rows = await session.scalars(select(Message).options(joinedload(Message.user)).where(Message.id.in_(found)))
    by_id = {m.id: m for m in rows}
    return [by_id[i] for i in found if i in by_id], has_more
