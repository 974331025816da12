from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from redis.asyncio.cluster import ClusterPubSub, RedisCluster
from redis.exceptions import RedisClusterException, RedisError

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
from service.redis_client import cluster_problem, connect, is_cluster

log = logging.getLogger("service.realtime")

SUBSCRIBE_TIMEOUT_SECONDS = 5.0
RECONNECT_MAX_SECONDS = 5.0
# The cluster client's reader holds a master's connection while it waits for a
# message, and an SSUBSCRIBE to that master waits for it: while subscribes wait,
# the reader's waits are short, so a burst of handshakes does not queue behind
# second-long polls (nor the broker poll every few ms at rest).
SHARDED_POLL_SECONDS = 0.01
SHARDED_WAIT_SECONDS = 0.25  # at rest: the longest a subscribe waits for the poll under way


class RedisBroker:
    """Redis pub/sub: a channel per room, subscribed while the instance has a socket
    in it, and the control channel. Payloads are envelope.py's; the reader task
    decodes each and hands it to the receiver. Pub/sub is at most once, so after a
    lost connection the broker resubscribes and says so (`on_resync`); the feeds
    then catch up from the database (lost_publishes.py).

    On a Redis Cluster (`redis+cluster://`) the same channels are shard channels
    (SPUBLISH, SSUBSCRIBE): each lives on the master serving its slot, so a room's
    publishes load one master and reach only the instances subscribed to it. The
    cluster client's pub/sub keeps one connection per master and moves a channel
    to its slot's new master after a failover or a slot migration; what was
    published meanwhile is lost, and the new SSUBSCRIBE's confirmation of a channel
    confirmed before tells the broker so (`on_resync`), as a reconnect does."""

    def __init__(self, url: str, prefix: str) -> None:
        self._prefix = f"{prefix}:"
        self._url, self._sub_name = url, f"{prefix}-sub"
        self._sharded = is_cluster(url)
        self._redis = connect(url, f"{prefix}-pub")
        self._sub_redis = connect(url, self._sub_name)
        self._pubsub = self._sub_redis.pubsub()
        self.problem: str | None = None  # why ping() says no, for /readyz
        self._subscribing = 0  # SSUBSCRIBEs under way
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
        with contextlib.suppress(RedisError, RedisClusterException, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2
        await self._sub_redis.aclose()
        await self._redis.aclose()

    async def subscribe(self, room_id: int) -> None:
        await self._subscribe(room_channel(room_id))

    async def _subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        confirmed = self._confirmations.setdefault(self._prefix + channel, asyncio.Event())
        if self._sharded:
            self._subscribing += 1
            try:
                await self._pubsub.ssubscribe(self._prefix + channel)
            finally:
                self._subscribing -= 1
        else:
            await self._pubsub.subscribe(self._prefix + channel)
        await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_TIMEOUT_SECONDS)

    async def unsubscribe(self, room_id: int) -> None:
        channel = room_channel(room_id)
        self._channels.discard(channel)
        self._confirmations.pop(self._prefix + channel, None)
        with contextlib.suppress(RedisError, RedisClusterException, OSError):
            if self._sharded:
                await self._pubsub.sunsubscribe(self._prefix + channel)
            else:
                await self._pubsub.unsubscribe(self._prefix + channel)

    async def publish_messages(self, messages: Sequence[tuple[int, int, str]]) -> None:
        # One round trip for a stored batch: the writer waits for it before the next.
        await self._publish_many([(room_channel(room), encode_message(seq, frame)) for room, seq, frame in messages])

    async def publish_ephemeral(self, room_id: int, frame: str, exclude_user: int | None) -> None:
        channel, payload = self._prefix + room_channel(room_id), encode_ephemeral(frame, exclude_user)
        if self._sharded:
            await self._redis.spublish(channel, payload)
        else:
            await self._redis.publish(channel, payload)

    async def publish_control(self, events: Sequence[ControlEvent]) -> None:
        await self._publish_many([(CONTROL_CHANNEL, encode_control(event)) for event in events])

    async def _publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for channel, payload in messages:
            if self._sharded:
                pipe.spublish(self._prefix + channel, payload)
            else:
                pipe.publish(self._prefix + channel, payload)
        await pipe.execute()

    async def ping(self) -> bool:
        try:
            if isinstance(self._redis, RedisCluster):
                self.problem = await cluster_problem(self._redis)
            else:
                self.problem = None if await self._redis.ping() else "no answer"
        except (RedisError, RedisClusterException, OSError) as exc:
            self.problem = f"unreachable: {type(exc).__name__}"
        if self.problem is None and not self.healthy:
            self.problem = "resubscribing"
        return self.problem is None

    async def _read(self) -> None:
        delay = 0.1
        broken = False
        while True:
            try:
                if broken:
                    await self._resubscribe()  # raises while Redis is unreachable
                    broken = False
                if not (self._channels if self._sharded else self._pubsub.subscribed):
                    await asyncio.sleep(0.05)  # nothing subscribed yet
                    continue
                message = await self._next_message()
                if message is not None:
                    self._handle(message)
                    delay = 0.1
            except asyncio.CancelledError:
                raise
            except (RedisError, RedisClusterException, OSError) as exc:
                if self.healthy:
                    log.warning("lost the Redis subscription (%s); reconnecting", exc)
                self.healthy = False
                broken = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _next_message(self) -> dict[str, object] | None:
        if isinstance(self._pubsub, ClusterPubSub):
            wait = SHARDED_POLL_SECONDS if self._subscribing else SHARDED_WAIT_SECONDS
            message: dict[str, object] | None = await self._pubsub.get_sharded_message(timeout=wait)
            if message is None:
                await asyncio.sleep(0)  # it may return at once, with every node cooling off
            return message
        message = await self._pubsub.get_message(timeout=1.0)
        return message

    def _handle(self, message: dict[str, object]) -> None:
        kind = message["type"]
        name = message["channel"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        if kind in ("message", "smessage"):
            data = message["data"]
            self._hand_on(name.removeprefix(self._prefix), data if isinstance(data, bytes) else b"")
        elif kind in ("subscribe", "ssubscribe"):
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
        with contextlib.suppress(RedisError, RedisClusterException, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2
        if self._sharded:
            # A cluster client refreshes its slot map when a command of its own
            # fails; one that only subscribes would go on asking a dead master for
            # its channels. A new client reads the map afresh from a node that answers.
            with contextlib.suppress(RedisError, RedisClusterException, OSError):
                await self._sub_redis.aclose()
            self._sub_redis = connect(self._url, self._sub_name)
        self._pubsub = self._sub_redis.pubsub()
        for event in self._confirmations.values():
            event.clear()
        names = [self._prefix + c for c in self._channels]
        if names and self._sharded:
            await self._pubsub.ssubscribe(*names)
        elif names:
            await self._pubsub.subscribe(*names)
