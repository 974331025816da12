from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol


class Broker(Protocol):
    """Publish/subscribe on named channels, at most once and possibly reordered:
    the hub restores order and fills gaps from the database."""

    # True when every subscriber lives in this process: room messages are then
    # handed to the hub directly instead of through publish().
    local_only: bool

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def subscribe(self, channel: str) -> None:
        """Returns once messages published from now on will be delivered."""

    async def unsubscribe(self, channel: str) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> None: ...

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """(channel, payload) pairs, in order, in one round trip where the broker can."""

    async def ping(self) -> bool:
        """Whether the broker is reachable and every subscription is live."""
        ...

    def published(self) -> AsyncIterator[tuple[str, bytes]]:
        """(channel, payload) for every subscribed channel, until disconnect; after a
        reconnect, ("", b"resync"): messages may have been lost, catch up elsewhere."""
        ...
