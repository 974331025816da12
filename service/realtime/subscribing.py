"""A room joins a socket: visibility checked, the feed joined, welcome → replay → synced.

The same for the per-room endpoint (its one room, at the handshake) and for each
room of a `subscribe` frame on `/ws`. The subscription joins the room's feed before
the room's position is read, so every message after the replay is held for it and
released by `go_live`: no gap, no repeat. Replay frames go through the socket's
queue, paced to what the client reads, interleaved with its other rooms' traffic."""

from __future__ import annotations

from collections.abc import Sequence

from service.auth.models import User
from service.errors import NotFound
from service.messages.reads import read_stored, start_of_newest
from service.messages.stream import StreamEvent
from service.realtime import frames
from service.realtime.connection import Connection
from service.realtime.subscription import Subscription
from service.resources import Resources
from service.rooms.service import readable_room_ids, room_for_reader


class RoomUnavailable(Exception):
    """The room is missing, not visible to the user, or was deleted meanwhile;
    nothing of it was sent."""


def reader_of(conn: Connection) -> User:
    """What visibility needs of the socket's user: no row is kept per socket."""
    return User(id=conn.user_id, is_admin=conn.is_admin)


async def readable(resources: Resources, reader: User, room_ids: Sequence[int]) -> set[int]:
    """Those of the rooms the user may read (one query for a whole subscribe frame)."""
    async with resources.sessionmaker() as session:
        return await readable_room_ids(session, room_ids, reader)


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
    settings = resources.settings
    conn = sub.conn
    async with resources.sessionmaker() as session:
        # Visibility again, now that the subscription is registered: a removal
        # committed since the frame's check is seen here, and one committed later
        # reaches the subscription as a control event.
        try:
            room = await room_for_reader(session, sub.room_id, reader_of(conn))
        except NotFound:
            raise RoomUnavailable from None
        # last_seq first: every seq up to it has committed, so the replay has no holes.
        last = room.last_seq
        if since is None:
            # The newest messages, with the edits and deletes among them.
            start = await start_of_newest(session, room.id, settings.history_on_connect, last)
        else:
            start = min(since, last)
        rows: list[StreamEvent] = []
        if start < last:
            rows = await read_stored(session, room.id, after=start, upto=last, limit=settings.max_replay, newest=True)
    # After joining: the user is among them, and later changes are held for this subscription.
    online = await resources.hub.online(sub.room_id)
    # The welcome's `room` is the Room itself; on /ws `hello` said who the user is.
    # The room may end meanwhile (removal, deletion: `unsubscribed` is sent then);
    # nothing of it follows that.
    await conn.put(frames.welcome_frame(room, None if conn.multiplexed else conn.user_json, online, ref), sub=sub)
    for event in rows:
        if sub.ended:
            return
        await conn.put(frames.stream_frame(event), sub.room_id, sub)
    resources.metrics.replay_messages.observe(len(rows))
    truncated = since is not None and last - start > settings.max_replay
    if not sub.ended:
        await conn.put(frames.synced_frame(last, len(rows), truncated, ref), sub.room_id, sub)
        sub.go_live(last)
