"""Local fan-out: which sockets are in which room, in seq order, and control events.

Messages reach the hub through the broker, or straight from the writer when the
broker is in-process. Per room, a feed delivers seqs strictly in order: an early
arrival waits for the seqs before it, and a seq that does not come in time (lost
by the broker, or its publisher died after commit) is read from the database,
the source of truth.

Presence and typing frames are ephemeral: not stored, not sequenced, delivered to
whoever is in the room when they arrive. The hub tells the presence store about a
user's first and last socket per room on this instance and announces what the
store reports as joins and leaves."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import control
from service.config import Settings
from service.control import ControlEvent, FamilyRevoked, MemberRemoved, RoomDeleted, TokenRevoked
from service.messages.store import StoredMessage, read_stored
from service.metrics import Metrics
from service.presence import PresenceStore
from service.realtime import protocol
from service.realtime.broker import Broker
from service.realtime.connection import Connection
from service.rooms.models import Room

log = logging.getLogger("service.realtime")

CONTROL_CHANNEL = "control"
# How long a feed waits for a missing seq before reading it from the database.
GAP_WAIT_SECONDS = 0.25
# How often feeds are checked against rooms.last_seq, for messages whose publish
# was lost with nothing published after it to reveal the gap.
RECONCILE_SECONDS = 1.0
CATCH_UP_BATCH = 500
# Typing notices forwarded per user per room, at most one per this many seconds.
TYPING_INTERVAL_SECONDS = 2.0
TOO_MANY = (1013, "too many connections")
RESTARTING = (1012, "server restarting")
TOKEN_REVOKED = (1008, "token revoked")
# How long a revocation is remembered: a socket whose token check passed just before
# the revocation committed, and joins after its control event arrived, is still closed.
REVOCATION_MEMORY_SECONDS = 60.0


def room_channel(room_id: int) -> str:
    return f"room:{room_id}"


def _encode_message(seq: int, frame: str) -> bytes:
    return b"%d:%.6f:" % (seq, time.time()) + frame.encode()


def _decode_message(payload: bytes) -> tuple[int, float, str]:
    seq, published_at, frame = payload.split(b":", 2)
    return int(seq), float(published_at), frame.decode()


# Ephemeral frames on a room channel: "e:<user id not to deliver to, or 0>:<frame>".
EPHEMERAL = b"e:"


def _encode_ephemeral(frame: str, exclude_user: int | None) -> bytes:
    return EPHEMERAL + b"%d:" % (exclude_user or 0) + frame.encode()


def _decode_ephemeral(payload: bytes) -> tuple[int | None, str]:
    _, exclude, frame = payload.split(b":", 2)
    return int(exclude) or None, frame.decode()


class _Wire:
    """One frame for many sockets: its JSON text, and MessagePack made at most once,
    for the first socket that speaks it."""

    __slots__ = ("text", "_packed")

    def __init__(self, text: str) -> None:
        self.text = text
        self._packed: bytes | None = None

    def for_(self, conn: Connection) -> str | bytes:
        if not conn.binary:
            return self.text
        if self._packed is None:
            self._packed = protocol.to_msgpack(self.text)
        return self._packed


class RoomFeed:
    def __init__(self, room_id: int) -> None:
        self.room_id = room_id
        self.connections: set[Connection] = set()
        self.last_seq = 0
        self.early: dict[int, str] = {}
        self.gap_task: asyncio.Task[None] | None = None
        self.positioned = False  # last_seq read from the database
        self.behind: int | None = None  # rooms.last_seq seen ahead of the feed at the last check
        self.users: dict[int, int] = {}  # user_id -> sockets here
        self.typing_at: dict[int, float] = {}  # user_id -> when their last typing notice went out


class Hub:
    def __init__(
        self,
        broker: Broker,
        presence: PresenceStore,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        metrics: Metrics,
    ) -> None:
        self.broker = broker
        self.presence = presence
        self.metrics = metrics
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._feeds: dict[int, RoomFeed] = {}
        self._feed_lock = asyncio.Lock()
        self._by_user: dict[int, set[Connection]] = defaultdict(set)
        self._user_json: dict[int, bytes] = {}  # for users with a socket here
        # Presence calls in the order the sockets opened and closed.
        self._presence_lock = asyncio.Lock()
        self._presence_upkeep: asyncio.Task[None] | None = None
        self._connections: set[Connection] = set()
        self._listener: asyncio.Task[None] | None = None
        self._reconciler: asyncio.Task[None] | None = None
        self._resync: asyncio.Task[None] | None = None
        self._emptied = asyncio.Event()
        self.draining = False
        # ("jti" or "family", id) -> monotonic time its revocation arrived
        self._revoked: dict[tuple[str, str], float] = {}

    # Lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.connect()
        await self.broker.subscribe(CONTROL_CHANNEL)
        await self.presence.connect()
        self._listener = asyncio.create_task(self._listen(), name="hub-listener")
        self._reconciler = asyncio.create_task(self._reconcile(), name="hub-reconciler")
        if self.presence.needs_upkeep:
            self._presence_upkeep = asyncio.create_task(self._keep_presence(), name="hub-presence")

    async def drain(self, timeout: float) -> None:
        """Close every socket 1012 and refuse new ones; wait for them to go."""
        self.draining = True
        for conn in list(self._connections):
            conn.close(*RESTARTING)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._connections:
                    self._emptied.clear()
                    await self._emptied.wait()

    async def stop(self) -> None:
        await self.drain(timeout=5)
        feed_tasks = [f.gap_task for f in self._feeds.values()]
        for task in [self._presence_upkeep, self._listener, self._reconciler, self._resync, *feed_tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.broker.disconnect()
        await self.presence.disconnect()

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    # Connections ------------------------------------------------------------------

    def admit(self, conn: Connection) -> bool:
        """Count the connection against the caps; False when a cap is reached."""
        mine = self._by_user[conn.user_id]
        if (
            len(self._connections) >= self._settings.max_connections
            or len(mine) >= self._settings.max_connections_per_user
        ):
            if not mine:
                del self._by_user[conn.user_id]
            return False
        self._connections.add(conn)
        mine.add(conn)
        self.metrics.connections.set(len(self._connections))
        if ("jti", conn.jti) in self._revoked or ("family", conn.family) in self._revoked:
            conn.close(*TOKEN_REVOKED)
        return True

    async def join(self, conn: Connection, user_json: bytes) -> None:
        """Subscribe the connection to its room's feed; from here on it receives
        (and holds, until it goes live) every message above the feed's position.
        The user's first socket in the room here makes them present there."""
        async with self._feed_lock:
            feed = self._feeds.get(conn.room_id)
            if feed is None:
                feed = self._feeds[conn.room_id] = RoomFeed(conn.room_id)
                try:
                    await self.broker.subscribe(room_channel(conn.room_id))
                    # Read after subscribing: anything committed later arrives through the broker.
                    async with self._sessionmaker() as session:
                        last = await session.scalar(select(Room.last_seq).where(Room.id == conn.room_id))
                except BaseException:
                    # No half-made feed: the next socket sets the room up afresh.
                    del self._feeds[conn.room_id]
                    with contextlib.suppress(Exception):
                        await self.broker.unsubscribe(room_channel(conn.room_id))
                    raise
                self._position(feed, last or 0)
            feed.connections.add(conn)
            self._user_json[conn.user_id] = user_json
            sockets = feed.users[conn.user_id] = feed.users.get(conn.user_id, 0) + 1
        if sockets == 1:
            await self._presence_changed(conn.room_id, conn.user_id, user_json)

    async def leave(self, conn: Connection) -> None:
        self._connections.discard(conn)
        self.metrics.connections.set(len(self._connections))
        if not self._connections:
            self._emptied.set()
        mine = self._by_user.get(conn.user_id)
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self._by_user[conn.user_id]
        if conn.user_id not in self._by_user:
            self._user_json.pop(conn.user_id, None)
        async with self._feed_lock:
            feed = self._feeds.get(conn.room_id)
            if feed is None or conn not in feed.connections:
                return
            feed.connections.discard(conn)
            last = feed.users[conn.user_id] == 1
            if last:
                del feed.users[conn.user_id]
                feed.typing_at.pop(conn.user_id, None)
            else:
                feed.users[conn.user_id] -= 1
            if not feed.connections:
                del self._feeds[conn.room_id]
                if feed.gap_task is not None:
                    feed.gap_task.cancel()
                await self.broker.unsubscribe(room_channel(conn.room_id))
        if last:
            await self._presence_changed(conn.room_id, conn.user_id, None)

    # Presence and typing ------------------------------------------------------------

    async def online(self, room_id: int) -> list[bytes]:
        """Users with a socket in the room on any instance (this one's, if the store fails)."""
        try:
            return await self.presence.online(room_id)
        except Exception as exc:
            log.warning("reading presence failed (%s); answering with this instance's users", exc)
            feed = self._feeds.get(room_id)
            return [] if feed is None else [self._user_json[u] for u in feed.users if u in self._user_json]

    async def _presence_changed(self, room_id: int, user_id: int, user_json: bytes | None) -> None:
        """`user_json`: the user's first socket in the room here opened; None: their last closed."""
        try:
            # Announced under the lock too, so joins and leaves go out in the order they happened.
            async with self._presence_lock:
                if user_json is not None:
                    announce = user_json if await self.presence.join(room_id, user_id, user_json) else None
                else:
                    announce = await self.presence.leave(room_id, user_id)
                if announce is not None:
                    await self._announce(room_id, user_id, "join" if user_json is not None else "leave", announce)
        except Exception as exc:
            # Messages flow on; the upkeep (or the entry's expiry) puts presence right.
            log.warning("updating presence in room %s failed: %s", room_id, exc)

    async def _announce(self, room_id: int, user_id: int, event: str, user_json: bytes) -> None:
        # Not to the user: a join comes from their first socket, which has `online`
        # in its welcome; a leave, from their last.
        await self.publish_ephemeral(room_id, protocol.presence_frame(event, user_json), exclude_user=user_id)

    async def typing(self, conn: Connection) -> None:
        """Forward a typing notice to the room's other users, one per user per 2 s."""
        feed = self._feeds.get(conn.room_id)
        user_json = self._user_json.get(conn.user_id)
        if feed is None or user_json is None:
            return
        now = time.monotonic()
        if now - feed.typing_at.get(conn.user_id, -TYPING_INTERVAL_SECONDS) < TYPING_INTERVAL_SECONDS:
            return
        feed.typing_at[conn.user_id] = now
        try:
            if await self.presence.allow_typing(conn.room_id, conn.user_id):
                await self.publish_ephemeral(conn.room_id, protocol.typing_frame(user_json), exclude_user=conn.user_id)
        except Exception as exc:
            log.warning("forwarding a typing notice failed: %s", exc)

    async def _keep_presence(self) -> None:
        while True:
            await asyncio.sleep(self.presence.upkeep_seconds)
            try:
                async with self._presence_lock:
                    # A user whose last socket is on its way out may be gone from _user_json already.
                    entries = [
                        (feed.room_id, user_id, user_json)
                        for feed in self._feeds.values()
                        for user_id in feed.users
                        if (user_json := self._user_json.get(user_id)) is not None
                    ]
                    for room_id, user_id, user_json in await self.presence.refresh(entries):
                        await self._announce(room_id, user_id, "join", user_json)
                    for room_id, user_id, user_json in await self.presence.sweep():
                        await self._announce(room_id, user_id, "leave", user_json)
            except Exception as exc:
                log.warning("refreshing presence failed: %s", exc)

    # Publishing (after commit) ----------------------------------------------------

    async def publish_stored(self, messages: Sequence[StoredMessage]) -> None:
        """After commit: each message's frame, encoded once, to its room's channel."""
        for message in messages:
            await self.publish_message(message.room_id, message.seq, protocol.message_frame(message))

    async def publish_message(self, room_id: int, seq: int, frame: str) -> None:
        if self.broker.local_only:
            self._on_message(room_id, seq, time.time(), frame)  # no other instance to tell
            return
        try:
            await self.broker.publish(room_channel(room_id), _encode_message(seq, frame))
        except Exception as exc:
            # Stored already: deliver here; other instances catch up from the database.
            log.warning("publishing to the broker failed (%s); delivering locally", exc)
            self._on_message(room_id, seq, time.time(), frame)

    async def publish_ephemeral(self, room_id: int, frame: str, exclude_user: int | None = None) -> None:
        if not self.broker.local_only:
            try:
                await self.broker.publish(room_channel(room_id), _encode_ephemeral(frame, exclude_user))
                return
            except Exception as exc:
                log.warning("publishing to the broker failed (%s); delivering locally", exc)
        self._on_ephemeral(room_id, exclude_user, frame)

    async def publish_control(self, event: ControlEvent) -> None:
        await self.broker.publish(CONTROL_CHANNEL, control.encode(event))

    # Receiving --------------------------------------------------------------------

    async def _listen(self) -> None:
        async for channel, payload in self.broker.published():
            try:
                if channel == CONTROL_CHANNEL:
                    self._on_control(control.decode(payload))
                elif not channel:  # the broker reconnected: anything may be missing
                    self.metrics.broker_resyncs.inc()
                    if self._resync is None or self._resync.done():
                        self._resync = asyncio.create_task(self._catch_up_all())
                elif payload.startswith(EPHEMERAL):
                    self._on_ephemeral(int(channel.partition(":")[2]), *_decode_ephemeral(payload))
                else:
                    room_id = int(channel.partition(":")[2])
                    self._on_message(room_id, *_decode_message(payload))
            except Exception:
                log.exception("dropped an undecodable broker event on %s", channel)

    def _position(self, feed: RoomFeed, last_seq: int) -> None:
        """Start the feed after `last_seq`; what arrived while it was read waits in `early`."""
        feed.last_seq = last_seq
        feed.positioned = True
        self._drain_early(feed)

    def _on_message(self, room_id: int, seq: int, published_at: float, frame: str) -> None:
        self.metrics.fanout_seconds.observe(max(0.0, time.time() - published_at))
        feed = self._feeds.get(room_id)
        if feed is None or seq <= feed.last_seq:
            return
        if not feed.positioned or seq > feed.last_seq + 1:
            feed.early[seq] = frame
            if feed.positioned:
                self._wait_for_gap(feed)
            return
        self._deliver(feed, seq, frame)
        self._drain_early(feed)

    def _deliver(self, feed: RoomFeed, seq: int, frame: str) -> None:
        feed.last_seq = seq
        wire = _Wire(frame)
        for conn in tuple(feed.connections):
            conn.deliver(seq, wire.for_(conn))
        self.metrics.frames_delivered.inc(len(feed.connections))

    def _on_ephemeral(self, room_id: int, exclude_user: int | None, frame: str) -> None:
        feed = self._feeds.get(room_id)
        if feed is None:
            return
        wire = _Wire(frame)
        for conn in tuple(feed.connections):
            if conn.user_id != exclude_user:
                conn.deliver_ephemeral(wire.for_(conn))

    def _drain_early(self, feed: RoomFeed) -> None:
        for stale in [s for s in feed.early if s <= feed.last_seq]:
            del feed.early[stale]
        while (frame := feed.early.pop(feed.last_seq + 1, None)) is not None:
            self._deliver(feed, feed.last_seq + 1, frame)
        if feed.early:
            self._wait_for_gap(feed)
        elif feed.gap_task is not None and feed.gap_task is not asyncio.current_task():
            feed.gap_task.cancel()
            feed.gap_task = None

    def _wait_for_gap(self, feed: RoomFeed) -> None:
        if feed.gap_task is None:
            feed.gap_task = asyncio.create_task(self._fill_gap(feed))

    async def _fill_gap(self, feed: RoomFeed) -> None:
        try:
            while feed.early and self._feeds.get(feed.room_id) is feed:
                await asyncio.sleep(GAP_WAIT_SECONDS)
                if feed.early:
                    # Seqs are assigned under the room's row lock, so everything below
                    # a seq we already hold has committed and can be read.
                    await self._catch_up(feed, before=min(feed.early))
        except Exception:
            log.exception("filling a gap in room %s failed", feed.room_id)
        finally:
            if feed.gap_task is asyncio.current_task():
                feed.gap_task = None

    async def _catch_up(self, feed: RoomFeed, before: int | None = None) -> None:
        """Deliver from the database, in order, the seqs after the feed's position."""
        while True:
            upto = None if before is None else before - 1
            async with self._sessionmaker() as session:
                rows = await read_stored(session, feed.room_id, after=feed.last_seq, upto=upto, limit=CATCH_UP_BATCH)
            for message in rows:
                if message.seq == feed.last_seq + 1:
                    self._deliver(feed, message.seq, protocol.message_frame(message))
            self._drain_early(feed)
            if len(rows) < CATCH_UP_BATCH:
                return

    async def _catch_up_all(self) -> None:
        for feed in list(self._feeds.values()):
            if feed.positioned and self._feeds.get(feed.room_id) is feed:
                try:
                    await self._catch_up(feed)
                except Exception:
                    log.exception("catching up room %s after a broker reconnect failed", feed.room_id)

    async def _reconcile(self) -> None:
        while True:
            await asyncio.sleep(RECONCILE_SECONDS)
            try:
                await self._reconcile_once()
            except Exception:
                log.exception("checking room feeds against the database failed")

    async def _reconcile_once(self) -> None:
        feeds = [f for f in self._feeds.values() if f.positioned]
        if not feeds:
            return
        async with self._sessionmaker() as session:
            rows = await session.execute(select(Room.id, Room.last_seq).where(Room.id.in_([f.room_id for f in feeds])))
            latest = {room_id: last_seq for room_id, last_seq in rows.all()}
        for feed in feeds:
            db_last = latest.get(feed.room_id, 0)
            if feed.behind is not None and feed.last_seq < feed.behind:
                # Behind for a whole interval: the publish was lost, not late.
                await self._catch_up(feed)
            feed.behind = db_last if db_last > feed.last_seq else None

    # Control events -------------------------------------------------------------------

    def _on_control(self, event: ControlEvent | None) -> None:
        match event:
            case TokenRevoked(jti=jti):
                self._remember_revoked("jti", jti)
                self._close_where(lambda c: c.jti == jti, *TOKEN_REVOKED)
            case FamilyRevoked(family_id=family_id):
                self._remember_revoked("family", family_id)
                self._close_where(lambda c: c.family == family_id, *TOKEN_REVOKED)
            case MemberRemoved(room_id=room_id, user_id=user_id):
                self._close_where(lambda c: c.room_id == room_id and c.user_id == user_id, 1008, "removed from room")
            case RoomDeleted(room_id=room_id):
                self._close_where(lambda c: c.room_id == room_id, 1001, "room deleted")
            case None:
                log.warning("ignored a control event of an unknown kind")

    def _remember_revoked(self, kind: str, value: str) -> None:
        now = time.monotonic()
        for key in [k for k, at in self._revoked.items() if at < now - REVOCATION_MEMORY_SECONDS]:
            del self._revoked[key]
        self._revoked[(kind, value)] = now

    def _close_where(self, predicate: Callable[[Connection], bool], code: int, reason: str) -> None:
        for conn in [c for c in self._connections if predicate(c)]:
            conn.close(code, reason)
