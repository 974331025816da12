from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.control import ControlEvent
from service.realtime.broker.base import Receiver
from service.realtime.envelope import (
    CONTROL_CHANNEL,
    EPHEMERAL,
    decode_control,
    decode_ephemeral,
    decode_message,
    encode_control,
    encode_ephemeral,
    encode_message,
    room_channel,
    room_of,
)

log = logging.getLogger("service.realtime")

SUBSCRIBE_TIMEOUT_SECONDS = 5.0
RECONNECT_MAX_SECONDS = 5.0


class RedisBroker:
    """Redis pub/sub: a channel per room, subscribed while the instance has a socket
    in it, and the control channel. Payloads are envelope.py's; the reader task
    decodes each and hands it to the receiver. Pub/sub is at most once, so after a
    lost connection the broker resubscribes and says so (`on_resync`); the feeds
    then catch up from the database (lost_publishes.py)."""

    def __init__(self, url: str, prefix: str) -> None:
        self._prefix = f"{prefix}:"
        self._redis = aioredis.Redis.from_url(url, client_name=f"{prefix}-pub")
        self._sub_redis = aioredis.Redis.from_url(url, client_name=f"{prefix}-sub")
        self._pubsub = self._sub_redis.pubsub()
        self._channels: set[str] = set()
        self._confirmations: dict[str, asyncio.Event] = {}
        self._receiver: Receiver | None = None
        self._reader: asyncio.Task[None] | None = None
        self.healthy = False

    async def connect(self, receiver: Receiver) -> None:
        self._receiver = receiver
        await self._redis.ping()
        self.healthy = True
        self._reader = asyncio.create_task(self._read(), name="redis-broker-reader")
        await self._subscribe(CONTROL_CHANNEL)

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2
        await self._sub_redis.aclose()
        await self._redis.aclose()

    async def subscribe(self, room_id: int) -> None:
        await self._subscribe(room_channel(room_id))

    async def _subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        confirmed = self._confirmations.setdefault(self._prefix + channel, asyncio.Event())
        await self._pubsub.subscribe(self._prefix + channel)
        await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_TIMEOUT_SECONDS)

    async def unsubscribe(self, room_id: int) -> None:
        channel = room_channel(room_id)
        self._channels.discard(channel)
        self._confirmations.pop(self._prefix + channel, None)
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.unsubscribe(self._prefix + channel)

    async def publish_messages(self, messages: Sequence[tuple[int, int, str]]) -> None:
        # One round trip for a stored batch: the writer waits for it before the next.
        await self._publish_many([(room_channel(room), encode_message(seq, frame)) for room, seq, frame in messages])

    async def publish_ephemeral(self, room_id: int, frame: str, exclude_user: int | None) -> None:
        await self._redis.publish(self._prefix + room_channel(room_id), encode_ephemeral(frame, exclude_user))

    async def publish_control(self, events: Sequence[ControlEvent]) -> None:
        await self._publish_many([(CONTROL_CHANNEL, encode_control(event)) for event in events])

    async def _publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for channel, payload in messages:
            pipe.publish(self._prefix + channel, payload)
        await pipe.execute()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping()) and self.healthy
        except (RedisError, OSError):
            return False

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
            self._hand_on(name.removeprefix(self._prefix), data if isinstance(data, bytes) else b"")
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
                self._resynced()

    def _hand_on(self, channel: str, payload: bytes) -> None:
        receiver = self._receiver
        if receiver is None:
            return
        try:
            if channel == CONTROL_CHANNEL:
                event = decode_control(payload)
                if event is None:
                    log.warning("ignored a control event of an unknown kind")
                else:
                    receiver.on_control(event)
            elif payload.startswith(EPHEMERAL):
                receiver.on_ephemeral(room_of(channel), *decode_ephemeral(payload))
            else:
                receiver.on_message(room_of(channel), *decode_message(payload))
        except Exception:
            log.exception("dropped an undecodable broker event on %s", channel)

    def _resynced(self) -> None:
        if self._receiver is None:
            return
        try:
            self._receiver.on_resync()
        except Exception:
            log.exception("catching up after a resubscribe failed")

    async def _resubscribe(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2
        self._pubsub = self._sub_redis.pubsub()
        for event in self._confirmations.values():
            event.clear()
        names = [self._prefix + c for c in self._channels]
        if names:
            await self._pubsub.subscribe(*names)
