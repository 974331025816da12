"""A room joins a socket: visibility checked, the feed joined, welcome → replay → synced.

The same for the per-room endpoint (its one room, at the handshake) and for each
room of a `subscribe` frame on `/ws`. The subscription joins the room's feed before
the room's position is read, so every message after the replay is held for it and
released by `go_live`: no gap, no repeat. Replay frames go through the socket's
queue, paced to what the client reads, interleaved with its other rooms' traffic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from service.auth.models import User
from service.errors import NotFound
from service.messages.reads import read_stored, start_of_newest
from service.messages.stream import StreamEvent
from service.realtime import frames
from service.realtime.connection import Connection
from service.realtime.subscription import Subscription
from service.resources import Resources
from service.rooms.models import Room
from service.rooms.service import readable_room_ids, room_for_reader


class RoomUnavailable(Exception):
    """The room is missing, not visible to the user, or was deleted meanwhile;
    nothing of it was sent."""


class Reader(Protocol):
    """A socket's user, or a bearer about to open one: what visibility needs."""

    @property
    def user_id(self) -> int: ...
    @property
    def is_admin(self) -> bool: ...


async def readable(resources: Resources, reader: Reader, room_ids: Sequence[int]) -> set[int]:
    """Those of the rooms the user may read: what the room feeds here know, and one
    query for the rest of a whole subscribe frame."""
    known = {r for r in room_ids if _known_room(resources, r, reader) is not None}
    rest = [r for r in room_ids if r not in known]
    if rest:
        async with resources.reads() as session:
            known |= await readable_room_ids(session, rest, _user(reader))
    return known


def _known_room(resources: Resources, room_id: int, reader: Reader) -> Room | None:
    """The room, if its feed here has read that the user may read it."""
    feed = resources.hub.feed(room_id)
    return feed.access.room_for(reader.user_id, reader.is_admin) if feed is not None else None


def _user(reader: Reader) -> User:
    """No row is kept per socket: visibility queries take only these two."""
    return User(id=reader.user_id, is_admin=reader.is_admin)


async def subscribe(
    resources: Resources, conn: Connection, room_id: int, since: int | None, ref: str | None = None
) -> Subscription:
    """Join, replay. The caller checked visibility (`readable`, for many rooms at
    once); the replay checks it again once the subscription is registered. Raises
    RoomUnavailable before anything of the room is sent."""
    sub = conn.subscriptions[room_id] = Subscription(conn, room_id)
    try:
        await resources.hub.subscribe(sub)
        await _replay(resources, sub, since, ref)
    except BaseException:
        await resources.hub.unsubscribe(sub)
        raise
    return sub


async def _replay(resources: Resources, sub: Subscription, since: int | None, ref: str | None) -> None:
    """welcome, the missed (or newest) entries of the stream, synced; live frames wait meanwhile."""
    conn = sub.conn
    room, last, start, entries = _replay_from_feed(resources, sub, since) or await _read_replay(resources, sub, since)
    # After joining: the user is among them, and later changes are held for this subscription.
    online = await resources.hub.online(sub.room_id)
    # The welcome's `room` is the Room itself; on /ws `hello` said who the user is.
    # The room may end meanwhile (removal, deletion: `unsubscribed` is sent then);
    # nothing of it follows that.
    user_json = None if conn.multiplexed else conn.user_json
    await conn.put(frames.welcome_frame(room, last, user_json, online, ref), sub=sub)
    for frame in entries:
        if sub.ended:
            return
        await conn.put(frame, sub.room_id, sub)
    resources.metrics.replay_messages.observe(len(entries))
    truncated = since is not None and last - start > resources.settings.max_replay
    if not sub.ended:
        await conn.put(frames.synced_frame(last, len(entries), truncated, ref), sub.room_id, sub)
        sub.go_live(last)


Replay = tuple[Room, int, int, list[str]]  # the room, the replay's end and start, its frames


def _replay_from_feed(resources: Resources, sub: Subscription, since: int | None) -> Replay | None:
    """The replay from what the room's feed holds, if it holds all of it."""
    feed = resources.hub.feed(sub.room_id)
    room = _known_room(resources, sub.room_id, sub.conn)
    if feed is None or room is None or (since is None and resources.settings.history_on_connect > 0):
        return None
    # Every seq up to the feed's position was delivered in order, so committed;
    # later ones reach the subscription through the feed.
    last = feed.last_seq
    start = last if since is None else min(since, last)
    if last - start > resources.settings.max_replay:
        return None  # truncated: the database says by how much
    entries = feed.recent(start, last)
    return None if entries is None else (room, last, start, entries)


async def _read_replay(resources: Resources, sub: Subscription, since: int | None) -> Replay:
    """The replay from the database; the feed keeps what it read of access."""
    settings = resources.settings
    conn = sub.conn
    feed = resources.hub.feed(sub.room_id)
    generation = feed.access.generation if feed is not None else 0
    async with resources.reads() as session:
        # Visibility again, now that the subscription is registered: a removal
        # committed since the frame's check is seen here, and one committed later
        # reaches the subscription as a control event.
        try:
            room = await room_for_reader(session, sub.room_id, _user(conn))
        except NotFound:
            raise RoomUnavailable from None
        # last_seq first: every seq up to it has committed, so the replay has no holes.
        last = room.last_seq
        if since is None:
            # The newest messages, with the edits and deletes among them.
            start = await start_of_newest(session, room.id, settings.history_on_connect, last)
        else:
            start = min(since, last)
        rows: Sequence[StreamEvent] = []
        if start < last:
            rows = await read_stored(session, room.id, after=start, upto=last, limit=settings.max_replay, newest=True)
    if feed is not None:
        feed.access.read(room, conn.user_id, generation)
    return room, last, start, [frames.stream_frame(event) for event in rows]
