"""The room feeds open on this instance: a room's feed opens with its first
subscription here and closes with its last.

Opening a feed subscribes the broker to the room and then reads where the feed
starts (feed_starts.py): anything committed meanwhile arrives through the broker
and waits in the feed. A user's first subscription to a room here makes them
present there (roster.py), and their last ends it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.messages import stream_frames
from service.messages.entries import StreamEvent
from service.messages.stream_reads import read_stored
from service.metrics import Metrics
from service.realtime import server_frames
from service.realtime.broker import Broker
from service.realtime.closes import Close
from service.realtime.connection import Connection
from service.realtime.feed import RECENT_ENTRIES, RoomFeed
from service.realtime.feed_starts import FeedStarts
from service.realtime.registry import Registry
from service.realtime.roster import Roster
from service.realtime.subscription import Subscription
from service.realtime.tasks import Tasks


class Feeds:
    def __init__(
        self,
        open_feeds: dict[int, RoomFeed],  # read by the fan-out, the roster and the loss watch too
        broker: Broker,
        reads: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        registry: Registry,
        roster: Roster,
        tasks: Tasks,
        read_thread_engine: Engine | None = None,  # a SQLite file's WAL readers, for a worker thread
    ) -> None:
        self.open = open_feeds
        self.starts = FeedStarts(reads, RECENT_ENTRIES, read_thread_engine)
        self._broker = broker
        self._reads = reads
        self._metrics = metrics
        self._registry = registry
        self._roster = roster
        self._tasks = tasks
        # Orders each room's broker subscribe after the unsubscribe of its previous feed.
        self._channel_lock = asyncio.Lock()

    def feed(self, room_id: int) -> RoomFeed | None:
        """The room's feed, once it knows its position."""
        feed = self.open.get(room_id)
        return feed if feed is not None and feed.positioned else None

    async def subscribe(self, sub: Subscription[Connection]) -> None:
        """Join the room's feed; from here on the subscription receives (and holds,
        until it goes live) every message above the feed's position. The user's
        first subscription to the room here makes them present there."""
        feed = self.open.get(sub.room_id)
        if feed is None:
            feed = self.open[sub.room_id] = RoomFeed(sub.room_id, self._read_stored, self._metrics)
            # The opener's access to a private room is read with the room's row.
            opener = None if sub.conn.is_admin else sub.user_id
            feed.opening = asyncio.ensure_future(self._open(feed, opener))
        first = feed.add(sub)
        self._roster.seen(sub.user_id, sub.conn.user_json)
        if feed.opening is not None:
            # Shared by every socket joining meanwhile; one that leaves does not cancel
            # it. Raises if the opening failed.
            await asyncio.shield(feed.opening)
        if first:
            await self._roster.changed(sub.room_id, sub.user_id, sub.conn.user_json)

    async def unsubscribe(self, sub: Subscription[Connection]) -> None:
        sub.end()
        if sub.conn.subscriptions.get(sub.room_id) is sub:
            del sub.conn.subscriptions[sub.room_id]
        feed = self.open.get(sub.room_id)
        if feed is None or not feed.remove(sub):
            return
        if not feed.subscriptions:
            if feed.opening is not None:
                await asyncio.wait([feed.opening])  # done or failed, never raised here
            if not feed.subscriptions and self.open.get(sub.room_id) is feed:
                await self._close(feed)
        await self._roster.changed(sub.room_id, sub.user_id, None)

    async def leave(self, conn: Connection) -> None:
        """The socket is gone: all its rooms end, and it no longer counts."""
        self._registry.release(conn)
        for sub in list(conn.subscriptions.values()):
            await self.unsubscribe(sub)
        if not self._registry.of_user(conn.user_id):
            self._roster.gone(conn.user_id)

    def end_room(self, sub: Subscription[Connection], close: Close) -> None:
        """Access to the room ended: the per-room socket closes; on /ws the room alone ends."""
        if not sub.conn.multiplexed:
            sub.conn.close(*close)
            return
        if sub.ended:
            return
        sub.end()
        sub.conn.send_json(server_frames.unsubscribed_frame(sub.room_id, close[1]))
        self._tasks.spawn(self.unsubscribe(sub))

    def close_all(self) -> None:
        for feed in self.open.values():
            feed.close()

    async def _open(self, feed: RoomFeed, opener: int | None) -> None:
        room_id = feed.room_id
        generation = feed.access.generation
        try:
            async with self._channel_lock:
                await self._broker.subscribe(room_id)
            # Read after subscribing: anything committed later arrives through the broker.
            start = await self.starts.read(room_id, opener)
        except BaseException:
            # No half-made feed: the next subscription sets the room up afresh.
            await self._close(feed)
            raise
        feed.position(start.last_seq, [(event.seq, stream_frames.stream_frame(event)) for event in start.newest])
        if start.room is not None:
            feed.access.read(start.room, opener if opener in start.members else None, generation)

    async def _close(self, feed: RoomFeed) -> None:
        if self.open.get(feed.room_id) is feed:
            del self.open[feed.room_id]
        feed.close()
        # Taken before this returns to the loop: a feed opened for the room from now
        # on subscribes after this unsubscribes.
        async with self._channel_lock:
            with contextlib.suppress(Exception):
                await self._broker.unsubscribe(feed.room_id)

    async def _read_stored(self, room_id: int, after: int, upto: int | None, limit: int) -> Sequence[StreamEvent]:
        async with self._reads() as session:
            return await read_stored(session, room_id, after=after, upto=upto, limit=limit)
