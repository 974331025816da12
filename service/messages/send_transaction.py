"""A batch of sends in a SQLAlchemy transaction: the way every batch goes on
PostgreSQL, and on SQLite a batch that needs look-ups (repeats, senders' names).
The dialect's statements (`Write`) place and insert the rows, replies and
mentions included."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db import utcnow
from service.messages.entries import StoreResult
from service.messages.sends import Markers, Sends
from service.messages.store import Pending
from service.messages.stream_reads import stored_under
from service.tables import users

# A dialect's statements for a batch in the caller's transaction: the seqs reserved
# and placed (Sends.place), the rows inserted, the markers moved; the new rows' ids
# in `placed` order and the senders' markers from before.
Write = Callable[[AsyncConnection, Sends, datetime], Awaitable[tuple[Sequence[int], Markers]]]


async def through_sqlalchemy(
    engine: AsyncEngine, sends: Sequence[Pending], *, look_up_repeats: bool, write: Write
) -> list[StoreResult | BaseException]:
    """A batch in a SQLAlchemy transaction, looking up what the sends do not say:
    messages stored before under their client_msg_ids, and senders' names."""
    async with engine.begin() as conn:
        keys = [(p.room_id, p.user_id, p.client_msg_id) for p in sends if p.client_msg_id is not None]
        stored = await stored_under(conn, keys) if look_up_repeats else {}
        batch = Sends(sends, stored, looked_up=look_up_repeats)
        now = utcnow()
        if not batch.by_room:
            return batch.results((), now, before={}, names={})
        ids, before = await write(conn, batch, now)
        return batch.results(ids, now, before=before, names=await _usernames(conn, batch.unnamed()))


async def _usernames(conn: AsyncConnection, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = await conn.execute(select(users.c.id, users.c.username).where(users.c.id.in_(user_ids)))
    return {r.id: r.username for r in rows}
