"""Storing messages straight into the database, for tests that need history."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from service.messages.dialects import store_for
from service.messages.entries import StoreResult
from service.messages.store import REPEATED, Pending


async def store_batch(
    engine: AsyncEngine, batch: list[Pending], *, look_up_repeats: bool = True
) -> list[StoreResult | BaseException]:
    """A batch in one transaction, as the writer stores it, nothing published."""
    store = store_for(engine)
    try:
        return await store.store_sends(sends=batch, look_up_repeats=look_up_repeats)
    finally:
        await store.close()


async def store_message(
    engine: AsyncEngine, room_id: int, user_id: int, body: str, client_msg_id: str | None = None
) -> StoreResult:
    """One message in its own transaction, nothing published."""
    pending = Pending(room_id, user_id, None, body, client_msg_id)
    try:
        result = (await store_batch(engine, [pending]))[0]
    except REPEATED:
        # A concurrent send with the same client_msg_id committed first; look again.
        result = (await store_batch(engine, [pending]))[0]
    if isinstance(result, BaseException):
        raise result
    return result
