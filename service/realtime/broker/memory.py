from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

_CLOSED = ("", b"")


class MemoryBroker:
    """In-process broker for a single process. Room messages skip it (local_only:
    the hub delivers them directly); control events go to the one listener, in
    publish order."""

    local_only = True

    def __init__(self) -> None:
        self._channels: set[str] = set()
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    async def connect(self) -> None:
        pass

    async def disconnect(self) -> None:
        self._queue.put_nowait(_CLOSED)

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def ping(self) -> bool:
        return True

    async def publish(self, channel: str, payload: bytes) -> None:
        if channel in self._channels:
            self._queue.put_nowait((channel, payload))

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        for channel, payload in messages:
            await self.publish(channel, payload)

    async def published(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                return
            yield item
