"""The instance's live side: room feeds, the sockets' registry, presence, and the broker.

Publishing happens after commit; everything published, this instance's own
included, comes back through `_listen` (or straight from the writer when the
broker is in-process) and goes to the room's feed, which delivers in seq order
to its subscriptions. Control events end access: a socket closes, or on the
multiplexed socket one room ends with `unsubscribed`.

Presence and typing frames are ephemeral: not stored, not sequenced, delivered to
whoever is in the room when they arrive (roster.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import control
from service.config import Settings
from service.control import (
    ControlEvent,
    FamilyRevoked,
    InstanceAlive,
    MemberRemoved,
    ReadMoved,
    RoomAdded,
    RoomChanged,
    RoomDeleted,
    StreamsBehind,
    TokenRevoked,
)
from service.messages import stream_frames
from service.messages.entries import StreamEvent
from service.messages.stream_reads import read_stored
from service.metrics import Metrics
from service.presence import PresenceStore
from service.realtime import envelope, server_frames
from service.realtime.broker import Broker
from service.realtime.closes import REMOVED, ROOM_DELETED, Close
from service.realtime.connection import Connection
from service.realtime.envelope import CONTROL_CHANNEL, EPHEMERAL, room_channel
from service.realtime.feed import RECENT_ENTRIES, RoomFeed
from service.realtime.feed_starts import FeedStarts
from service.realtime.lost_publishes import LossWatch
from service.realtime.registry import Registry
from service.realtime.roster import Roster
from service.realtime.subscription import Subscription
from service.rooms.models import Room

log = logging.getLogger("service.realtime")


class Hub:
    def __init__(
        self,
        broker: Broker,
        presence: PresenceStore,
        reads: async_sessionmaker[AsyncSession],  # read-only: the hub never writes
        settings: Settings,
        metrics: Metrics,
    ) -> None:
        self.broker = broker
        self.presence = presence
        self.metrics = metrics
        self.registry = Registry(settings, metrics)
        self._reads = reads
        self._feeds: dict[int, RoomFeed] = {}
        self._starts = FeedStarts(reads, RECENT_ENTRIES)
        # Orders each room's channel subscribe after the unsubscribe of its previous feed.
        self._channel_lock = asyncio.Lock()
        self.roster = Roster(presence, self._feeds, self.publish_ephemeral)
        self.losses = LossWatch(self._feeds, reads, broker, metrics, settings.lost_publish_sweep_seconds)
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None

    # Lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.connect()
        await self.broker.subscribe(CONTROL_CHANNEL)
        await self.presence.connect()
        self._listener = asyncio.create_task(self._listen(), name="hub-listener")
        await self.losses.tell_peers()
        self._spawn(self.losses.run())
        if self.presence.needs_upkeep:
            self._spawn(self.roster.keep())

    @property
    def draining(self) -> bool:
        return self.registry.draining

    async def drain(self, timeout: float) -> None:
        await self.registry.drain(timeout)

    async def stop(self) -> None:
        await self.drain(timeout=5)
        for feed in self._feeds.values():
            feed.close()
        for task in [self._listener, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.broker.disconnect()
        await self.presence.disconnect()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Subscriptions ------------------------------------------------------------------

    async def subscribe(self, sub: Subscription) -> None:
        """Join the room's feed; from here on the subscription receives (and holds,
        until it goes live) every message above the feed's position. The user's
        first subscription to the room here makes them present there."""
        feed = self._feeds.get(sub.room_id)
        if feed is None:
            feed = self._feeds[sub.room_id] = RoomFeed(sub.room_id, self._read_stored, self.metrics)
            feed.opening = asyncio.ensure_future(self._open_feed(feed))
        first = feed.add(sub)
        self.roster.seen(sub.user_id, sub.conn.user_json)
        if feed.opening is not None:
            # Shared by every socket joining meanwhile; one that leaves does not cancel
            # it. Raises if the opening failed.
            await asyncio.shield(feed.opening)
        if first:
            await self.roster.changed(sub.room_id, sub.user_id, sub.conn.user_json)

    def feed(self, room_id: int) -> RoomFeed | None:
        feed = self._feeds.get(room_id)
        return feed if feed is not None and feed.positioned else None

    async def _open_feed(self, feed: RoomFeed) -> None:
        room_id = feed.room_id
        generation = feed.access.generation
        try:
            async with self._channel_lock:
                await self.broker.subscribe(room_channel(room_id))
            # Read after subscribing: anything committed later arrives through the broker.
            start = await self._starts.read(room_id)
        except BaseException:
            # No half-made feed: the next subscription sets the room up afresh.
            await self._close_feed(feed)
            raise
        feed.position(start.last_seq, [(event.seq, stream_frames.stream_frame(event)) for event in start.newest])
        if start.room is not None:
            feed.access.read(start.room, None, generation)

    async def _close_feed(self, feed: RoomFeed) -> None:
        if self._feeds.get(feed.room_id) is feed:
            del self._feeds[feed.room_id]
        feed.close()
        # Taken before this returns to the loop: a feed opened for the room from now
        # on subscribes after this unsubscribes.
        async with self._channel_lock:
            with contextlib.suppress(Exception):
                await self.broker.unsubscribe(room_channel(feed.room_id))

    async def unsubscribe(self, sub: Subscription) -> None:
        sub.end()
        if sub.conn.subscriptions.get(sub.room_id) is sub:
            del sub.conn.subscriptions[sub.room_id]
        feed = self._feeds.get(sub.room_id)
        if feed is None or not feed.remove(sub):
            return
        if not feed.subscriptions:
            if feed.opening is not None:
                await asyncio.wait([feed.opening])  # done or failed, never raised here
            if not feed.subscriptions and self._feeds.get(sub.room_id) is feed:
                await self._close_feed(feed)
        await self.roster.changed(sub.room_id, sub.user_id, None)

    async def leave(self, conn: Connection) -> None:
        """The socket is gone: all its rooms end, and it no longer counts."""
        self.registry.release(conn)
        for sub in list(conn.subscriptions.values()):
            await self.unsubscribe(sub)
        if not self.registry.of_user(conn.user_id):
            self.roster.gone(conn.user_id)

    def end_room(self, sub: Subscription, close: Close) -> None:
        """Access to the room ended: the per-room socket closes; on /ws the room alone ends."""
        if not sub.conn.multiplexed:
            sub.conn.close(*close)
            return
        if sub.ended:
            return
        sub.end()
        sub.conn.send_json(server_frames.unsubscribed_frame(sub.room_id, close[1]))
        self._spawn(self.unsubscribe(sub))

    async def _read_stored(self, room_id: int, after: int, upto: int | None, limit: int) -> Sequence[StreamEvent]:
        async with self._reads() as session:
            return await read_stored(session, room_id, after=after, upto=upto, limit=limit)

    # Presence and typing ------------------------------------------------------------

    async def online(self, room_id: int) -> list[bytes]:
        return await self.roster.online(room_id)

    async def typing(self, sub: Subscription) -> None:
        await self.roster.typing(sub)

    # Publishing (after commit) ----------------------------------------------------

    async def publish_stored(self, events: Sequence[StreamEvent]) -> None:
        """After commit: each event's frame, encoded once, to its room's channel; a
        stored batch in one round trip to the broker."""
        await self._publish_messages(
            [(event.room_id, event.seq, stream_frames.stream_frame(event)) for event in events]
        )

    async def _publish_messages(self, messages: Sequence[tuple[int, int, str]]) -> None:
        if self.broker.local_only:
            for room_id, seq, frame in messages:
                self._on_message(room_id, seq, time.time(), frame)  # no other instance to tell
            return
        try:
            await self.broker.publish_many(
                [(room_channel(room_id), envelope.encode_message(seq, frame)) for room_id, seq, frame in messages]
            )
        except Exception as exc:
            # Stored already: deliver here; other instances are told to read it (lost_publishes.py).
            log.warning("publishing to the broker failed (%s); delivering locally", exc)
            self.losses.publish_failed(room_id for room_id, _, _ in messages)
            for room_id, seq, frame in messages:
                self._on_message(room_id, seq, time.time(), frame)

    async def publish_ephemeral(self, room_id: int, frame: str, exclude_user: int | None = None) -> None:
        if not self.broker.local_only:
            try:
                await self.broker.publish(room_channel(room_id), envelope.encode_ephemeral(frame, exclude_user))
                return
            except Exception as exc:
                log.warning("publishing to the broker failed (%s); delivering locally", exc)
        self._on_ephemeral(room_id, exclude_user, frame)

    async def read_moved(self, user_id: int, room_id: int, seq: int) -> None:
        """Sending moved the user's marker past others' messages: all their /ws sockets hear of it."""
        await self.publish_control(ReadMoved(user_id, room_id, seq))

    async def publish_control(self, event: ControlEvent) -> None:
        """After the change committed. Without the broker the change still holds (new
        sockets and REST calls see it); only other instances' open sockets miss it."""
        try:
            await self.broker.publish(CONTROL_CHANNEL, control.encode(event))
        except Exception as exc:
            log.warning("publishing a control event failed (%s); applying it on this instance only", exc)
            self._on_control(event)

    # Receiving --------------------------------------------------------------------

    async def _listen(self) -> None:
        async for channel, payload in self.broker.published():
            try:
                if channel == CONTROL_CHANNEL:
                    self._on_control(control.decode(payload))
                elif not channel:  # the broker reconnected: anything may be missing
                    self.metrics.broker_resyncs.inc()
                    self._forget_access()
                    self.losses.resynced()
                elif payload.startswith(EPHEMERAL):
                    self._on_ephemeral(envelope.room_of(channel), *envelope.decode_ephemeral(payload))
                else:
                    self._on_message(envelope.room_of(channel), *envelope.decode_message(payload))
            except Exception:
                log.exception("dropped an undecodable broker event on %s", channel)

    def _on_message(self, room_id: int, seq: int, published_at: float, frame: str) -> None:
        self.metrics.fanout_seconds.observe(max(0.0, time.time() - published_at))
        feed = self._feeds.get(room_id)
        if feed is not None:
            feed.offer(seq, frame)

    def _on_ephemeral(self, room_id: int, exclude_user: int | None, frame: str) -> None:
        feed = self._feeds.get(room_id)
        if feed is not None:
            feed.deliver_ephemeral(frame, exclude_user)

    def _forget_access(self) -> None:
        """A control event may have been missed: what was read of access is read again."""
        self.registry.tokens.clear()
        for feed in self._feeds.values():
            feed.access.forget()

    # Control events -------------------------------------------------------------------

    def _on_control(self, event: ControlEvent | None) -> None:
        registry = self.registry
        match event:
            case TokenRevoked(jti=jti):
                registry.revoke("jti", jti, lambda c: c.jti == jti)
            case FamilyRevoked(family_id=family_id):
                registry.revoke("family", family_id, lambda c: c.family == family_id)
            case MemberRemoved(room_id=room_id, user_id=user_id):
                self._forget_room(room_id, user_id)
                for sub in list(registry.subscriptions(room_id, user_id)):
                    self.end_room(sub, REMOVED)
            case RoomDeleted(room_id=room_id):
                self._forget_room(room_id)
                for sub in list(registry.subscriptions(room_id)):
                    self.end_room(sub, ROOM_DELETED)
            case RoomChanged(room_id=room_id):
                self._forget_room(room_id)
            case RoomAdded(user_id=user_id, room_id=room_id):
                if any(c.multiplexed for c in registry.of_user(user_id)):
                    self._spawn(self._tell_room_added(user_id, room_id))
            case ReadMoved(user_id=user_id, room_id=room_id, seq=seq, origin=origin):
                frame = server_frames.read_frame(room_id, seq)
                for conn in registry.of_user(user_id):
                    if conn.multiplexed and conn.origin != origin:
                        conn.send_json(frame)
            case InstanceAlive() | StreamsBehind():
                self.losses.heard(event)
            case None:
                log.warning("ignored a control event of an unknown kind")

    def _forget_room(self, room_id: int, user_id: int | None = None) -> None:
        feed = self._feeds.get(room_id)
        if feed is not None:
            feed.access.forget(user_id)

    async def _tell_room_added(self, user_id: int, room_id: int) -> None:
        async with self._reads() as session:
            room = await session.get(Room, room_id)
        if room is not None:
            frame = server_frames.room_added_frame(room)
            for conn in self.registry.of_user(user_id):
                if conn.multiplexed:
                    conn.send_json(frame)
