from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("service.realtime")

SUBSCRIBE_TIMEOUT_SECONDS = 5.0
RECONNECT_MAX_SECONDS = 5.0
# Yielded by published() after a reconnect: messages may have been lost meanwhile.
RESYNC = ("", b"resync")
_CLOSED = ("", b"closed")


class RedisBroker:
    """Redis pub/sub: a channel per room, subscribed while the instance has a socket
    in it. Pub/sub is at most once, so after a lost connection the broker
    resubscribes and yields RESYNC; the hub then catches up from the database."""

    local_only = False

    def __init__(self, url: str, prefix: str) -> None:
        self._prefix = f"{prefix}:"
        self._redis = aioredis.Redis.from_url(url, client_name=f"{prefix}-pub")
        self._sub_redis = aioredis.Redis.from_url(url, client_name=f"{prefix}-sub")
        self._pubsub = self._sub_redis.pubsub()
        self._channels: set[str] = set()
        self._confirmations: dict[str, asyncio.Event] = {}
        self._out: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self.healthy = False

    async def connect(self) -> None:
        await self._redis.ping()
        self.healthy = True
        self._reader = asyncio.create_task(self._read(), name="redis-broker-reader")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._out.put_nowait(_CLOSED)
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2
        await self._sub_redis.aclose()
        await self._redis.aclose()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        confirmed = self._confirmations.setdefault(self._prefix + channel, asyncio.Event())
        await self._pubsub.subscribe(self._prefix + channel)
        await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_TIMEOUT_SECONDS)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        self._confirmations.pop(self._prefix + channel, None)
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.unsubscribe(self._prefix + channel)

    async def publish(self, channel: str, payload: bytes) -> None:
        await self._redis.publish(self._prefix + channel, payload)

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        # One round trip for a stored batch: the writer waits for it before the next.
        pipe = self._redis.pipeline(transaction=False)
        for channel, payload in messages:
            pipe.publish(self._prefix + channel, payload)
        await pipe.execute()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping()) and self.healthy
        except (RedisError, OSError):
            return False

    async def published(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            item = await self._out.get()
            if item is _CLOSED:
                return
            yield item

    async def _read(self) -> None:
        delay = 0.1
        broken = False
        while True:
            try:
                if broken:
                    await self._resubscribe()  # raises while Redis is unreachable
                    broken = False
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)  # nothing subscribed yet
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
                if message is not None:
                    self._handle(message)
                    delay = 0.1
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.healthy:
                    log.warning("lost the Redis subscription (%s); reconnecting", exc)
                self.healthy = False
                broken = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _handle(self, message: dict[str, object]) -> None:
        kind = message["type"]
        name = message["channel"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        if kind == "message":
            data = message["data"]
            self._out.put_nowait((name.removeprefix(self._prefix), data if isinstance(data, bytes) else b""))
        elif kind == "subscribe":
            event = self._confirmations.get(name)
            if event is None:
                return
            # A confirmation for a channel confirmed before means the client
            # reconnected underneath us: whatever was published meanwhile is lost.
            resubscribed = event.is_set()
            event.set()
            if resubscribed or (not self.healthy and all(e.is_set() for e in self._confirmations.values())):
                if not self.healthy:
                    log.info("Redis subscription restored")
                self.healthy = True
                self._out.put_nowait(RESYNC)

    async def _resubscribe(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2
        self._pubsub = self._sub_redis.pubsub()
        for event in self._confirmations.values():
            event.clear()
        names = [self._prefix + c for c in self._channels]
        if names:
            await self._pubsub.subscribe(*names)
