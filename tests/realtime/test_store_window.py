"""A connection's store window, alone: the reader waits at the limit and goes on
as soon as the writer answers for one message."""

from __future__ import annotations

import asyncio

from service.realtime.store_window import MAX_PENDING_STORES, StoreWindow


async def test_the_reader_waits_at_the_limit_until_one_message_is_answered() -> None:
    window = StoreWindow()
    for _ in range(MAX_PENDING_STORES - 1):
        await window.wait_for_room()  # below the limit: never waits
        window.started()
    await window.wait_for_room()
    window.started()
    waiting = asyncio.create_task(window.wait_for_room())
    for _ in range(3):
        await asyncio.sleep(0)
    assert not waiting.done()  # at the limit
    window.finished()
    await asyncio.wait_for(waiting, 5)
