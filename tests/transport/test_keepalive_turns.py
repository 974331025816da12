"""One timer serves every socket's keepalive: each gets a turn once per its
interval, never sooner, and a socket removed gets none."""

from __future__ import annotations

import asyncio

from service.transport.keepalive import TICK_SECONDS, Keepalive


class Socket:
    def __init__(self, keepalive: Keepalive, interval: float, turns_wanted: int) -> None:
        self.keepalive, self.interval = keepalive, interval
        self.turns: list[float] = []
        self.done = asyncio.get_running_loop().create_future()
        self.turns_wanted = turns_wanted
        self.step = keepalive.add(self, interval)

    def keepalive_turn(self) -> None:
        self.turns.append(asyncio.get_running_loop().time())
        if len(self.turns) < self.turns_wanted:
            self.step = self.keepalive.add(self, self.interval)
        elif not self.done.done():
            self.done.set_result(None)


async def test_turns_come_once_an_interval_and_not_to_a_socket_removed() -> None:
    keepalive = Keepalive(asyncio.get_running_loop())
    start = asyncio.get_running_loop().time()
    fast, slow = Socket(keepalive, TICK_SECONDS, 6), Socket(keepalive, 3 * TICK_SECONDS, 2)
    removed = Socket(keepalive, TICK_SECONDS, 1)
    keepalive.remove(removed, removed.step)

    await asyncio.wait_for(asyncio.gather(fast.done, slow.done), 10)
    assert removed.turns == []
    for socket in (fast, slow):
        gaps = [b - a for a, b in zip([start, *socket.turns], socket.turns, strict=False)]
        # A step's turns may come up to half a step early (the timer's rounding).
        assert min(gaps) >= socket.interval - TICK_SECONDS / 2 - 0.01, gaps
