"""Control events (service/control.py) on this instance: published to every
instance after the change committed, and applied here when the broker hands
them back, this instance's own included.

Access that ended closes sockets (a revoked token or login) or ends one room of a
socket (a removal, a deletion: the per-room socket closes, on /ws the room ends
with `unsubscribed`); access that changed is read again when a socket next needs
it; a room added and a read marker moved are told to the user's /ws sockets; a
member added or removed is told to the room's readers here (as presence is), a
public room made to every other user's /ws sockets, a room renamed or described
anew to the /ws sockets of everyone who may list it (every user for a public room,
its members for a private one), so clients keep their lists without asking
again; the instances' news of each other goes to the loss watch
(lost_publishes.py)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.auth.models import User
from service.control import (
    ControlEvent,
    FamilyRevoked,
    InstanceAlive,
    MemberRemoved,
    ReadMoved,
    RoomAdded,
    RoomChanged,
    RoomCreated,
    RoomDeleted,
    StreamsBehind,
    TokenRevoked,
)
from service.metrics import Metrics
from service.realtime import server_frames
from service.realtime.broker import Broker
from service.realtime.closes import REMOVED, ROOM_DELETED, Close
from service.realtime.feeds import Feeds
from service.realtime.lost_publishes import LossWatch
from service.realtime.registry import Registry
from service.realtime.tasks import Tasks
from service.rooms.models import Room, RoomMember

log = logging.getLogger("service.realtime")


class ControlEvents:
    def __init__(
        self,
        broker: Broker,
        registry: Registry,
        feeds: Feeds,
        reads: async_sessionmaker[AsyncSession],
        losses: LossWatch,
        metrics: Metrics,
        tasks: Tasks,
    ) -> None:
        self._broker = broker
        self._registry = registry
        self._feeds = feeds
        self._reads = reads
        self._losses = losses
        self._metrics = metrics
        self._tasks = tasks
        self._updates: dict[int, int] = {}  # room id → the number of its latest RoomChanged being told
        self._numbered = 0

    # Publishing (a ControlPublisher) -------------------------------------------------

    async def publish(self, event: ControlEvent) -> None:
        """After the change committed. Without the broker the change still holds (new
        sockets and REST calls see it); only other instances' open sockets miss it."""
        try:
            await self._broker.publish_control([event])
        except Exception as exc:
            log.warning("publishing a control event failed (%s); applying it on this instance only", exc)
            self.apply(event)

    async def read_moved(self, user_id: int, room_id: int, seq: int, thread: int | None = None) -> None:
        """Sending moved the user's marker (in a thread: `thread`) past others'
        messages: all their /ws sockets hear of it."""
        await self.publish(ReadMoved(user_id, room_id, seq, thread=thread))

    # Applying (handed back by the broker) --------------------------------------------

    def apply(self, event: ControlEvent) -> None:
        match event:
            case TokenRevoked(jti=jti):
                self._registry.revoke("jti", jti, lambda c: c.jti == jti)
            case FamilyRevoked(family_id=family_id):
                self._registry.revoke("family", family_id, lambda c: c.family == family_id)
            case MemberRemoved(room_id=room_id, user_id=user_id):
                self._end_room(room_id, user_id, REMOVED)
                self._tell_room(room_id, server_frames.member_removed_frame(user_id))
            case RoomDeleted(room_id=room_id):
                self._end_room(room_id, None, ROOM_DELETED)
            case RoomChanged(room_id=room_id):
                self._forget_room(room_id)
                if self._registry.multiplexed():
                    self._numbered += 1
                    self._updates[room_id] = self._numbered
                    self._tasks.spawn(self._tell_room_updated(room_id, self._numbered))
            case RoomAdded(user_id=user_id, room_id=room_id):
                if any(c.multiplexed for c in self._registry.of_user(user_id)):
                    self._tasks.spawn(self._tell_room_added(user_id, room_id))
                if room_id in self._feeds.open:
                    self._tasks.spawn(self._tell_member_added(user_id, room_id))
            case RoomCreated(room_id=room_id):
                if self._registry.multiplexed():
                    self._tasks.spawn(self._tell_room_created(room_id))
            case ReadMoved():
                self._tell_read_moved(event)
            case InstanceAlive() | StreamsBehind():
                self._losses.heard(event)

    def resynced(self) -> None:
        """The broker reconnected: a control event may have been missed, so what was
        read of access is read again, and the feeds are checked (lost_publishes.py)."""
        self._metrics.broker_resyncs.inc()
        self._registry.tokens.clear()
        for feed in self._feeds.open.values():
            feed.access.forget()
        self._losses.resynced()

    def _end_room(self, room_id: int, user_id: int | None, close: Close) -> None:
        """For every subscription to the room here (of one user, when given)."""
        self._forget_room(room_id, user_id)
        for sub in list(self._registry.subscriptions(room_id, user_id)):
            self._feeds.end_room(sub, close)

    def _forget_room(self, room_id: int, user_id: int | None = None) -> None:
        feed = self._feeds.open.get(room_id)
        if feed is not None:
            feed.access.forget(user_id)

    def _tell_read_moved(self, event: ReadMoved) -> None:
        frame = server_frames.read_frame(event.room_id, event.seq, event.thread)
        for conn in self._registry.of_user(event.user_id):
            if conn.multiplexed and conn.origin != event.origin:
                conn.send_json(frame)

    async def _tell_room_added(self, user_id: int, room_id: int) -> None:
        async with self._reads() as session:
            room = await session.get(Room, room_id)
        if room is not None:
            frame = server_frames.room_added_frame(room)
            for conn in self._registry.of_user(user_id):
                if conn.multiplexed:
                    conn.send_json(frame)

    async def _tell_member_added(self, user_id: int, room_id: int) -> None:
        async with self._reads() as session:
            user = await session.get(User, user_id)
        if user is not None:
            self._tell_room(room_id, server_frames.member_added_frame(server_frames.encode_user(user)))

    def _tell_room(self, room_id: int, frame: str) -> None:
        """To the room's subscriptions here, as presence goes (tagged on /ws)."""
        feed = self._feeds.open.get(room_id)
        if feed is not None:
            feed.deliver_ephemeral(frame, None)

    async def _tell_room_created(self, room_id: int) -> None:
        async with self._reads() as session:
            room = await session.get(Room, room_id)
        if room is None or room.private:
            return
        frame = server_frames.room_created_frame(room)
        for conn in self._registry.multiplexed():
            # The owner heard `room_added`.
            if conn.user_id != room.owner_id:
                conn.send_json(frame)

    async def _tell_room_updated(self, room_id: int, number: int) -> None:
        """The room as stored now, read after the change committed. When changes come
        close together, only the reading begun after the latest one is sent (any other
        may hold an older state and finish last), so a socket's last `room_updated` of
        a room is the room as it is."""
        try:
            async with self._reads() as session:
                room = await session.get(Room, room_id)
                members: set[int] | None = None
                if room is not None and room.private:
                    found = await session.scalars(select(RoomMember.user_id).where(RoomMember.room_id == room_id))
                    members = set(found)
        finally:
            latest = self._updates.get(room_id) == number
            if latest:
                del self._updates[room_id]
        if room is None or not latest:
            return
        frame = server_frames.room_updated_frame(room)
        for conn in self._registry.multiplexed():
            # A private room: its members, and whoever reads it here (an admin).
            if members is None or conn.user_id in members or room_id in conn.subscriptions:
                conn.send_json(frame)
