"""How many of one connection's messages are on their way to the writer at once.

Beyond the window the socket's reader waits, so a fast sender cannot queue
without bound in front of the writer; its messages keep their order."""

from __future__ import annotations

import asyncio

# Messages of one connection queued for storing at once; beyond it the reader waits.
MAX_PENDING_STORES = 64


class StoreWindow:
    __slots__ = ("_pending", "_below_limit")

    def __init__(self) -> None:
        self._pending = 0
        self._below_limit: asyncio.Event | None = None

    def started(self) -> None:
        """A message went to the writer."""
        self._pending += 1

    def finished(self) -> None:
        """The writer answered for a message (stored, or not)."""
        self._pending -= 1
        if self._below_limit is not None and self._pending < MAX_PENDING_STORES:
            self._below_limit.set()

    @property
    def full(self) -> bool:
        return self._pending >= MAX_PENDING_STORES

    async def wait_for_room(self) -> None:
        """Return once fewer than MAX_PENDING_STORES messages are on their way."""
        if not self.full:
            return
        self._below_limit = asyncio.Event()
        while self.full:
            self._below_limit.clear()
            await self._below_limit.wait()
