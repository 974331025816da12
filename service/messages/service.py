"""Reading history by seq."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from service.messages.models import Message


async def history(
    session: AsyncSession, room_id: int, *, after_seq: int | None, before_seq: int | None, limit: int
) -> tuple[Sequence[Message], bool]:
    """A page in ascending seq and whether more lie beyond it in the paging direction.

    after_seq pages forwards from the oldest; before_seq alone, or no cursor, pages
    backwards from the newest."""
    query = select(Message).options(joinedload(Message.user)).where(Message.room_id == room_id)
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
