"""A room joins a socket: visibility checked, the feed joined, welcome → replay → synced.

The same for the per-room endpoint (its one room, at the handshake) and for each
room of a `subscribe` frame on `/ws`. The subscription joins the room's feed before
the room's position is read, so every message after the replay is held for it and
released by `go_live`: no gap, no repeat. Replay frames are written as live ones
are, those of one turn in one write while nothing waits in the socket's queue,
else through the queue, paced to what the client reads, interleaved with its
other rooms' traffic.
A replay from the database is read in chunks, each only once the socket's queue
has room for it, so a client that reads slowly holds one chunk, not its replay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from service.auth.models import User
from service.config import Settings
from service.errors import NotFound
from service.messages import stream_frames
from service.messages.entries import StreamEvent
from service.messages.stream_reads import read_newest, read_stored
from service.metrics import Metrics
from service.realtime import server_frames
from service.realtime.connection import Connection
from service.realtime.feeds import Feeds
from service.realtime.roster import Roster
from service.realtime.subscription import Subscription
from service.realtime.wire import Socket as WireSocket
from service.realtime.wire import Wire
from service.rooms.models import Room
from service.rooms.service import readable_room_ids, room_for_reader

# Rows of a replay read from the database at once, at most.
CHUNK_ROWS: Final = 100


@dataclass(frozen=True, slots=True)
class Joining:
    feeds: Feeds
    roster: Roster  # who is in the room, for the welcome
    reads: async_sessionmaker[AsyncSession]
    settings: Settings  # history on connect, the replay's bounds
    metrics: Metrics


class RoomUnavailable(Exception):
    """The room is missing, not visible to the user, or was deleted meanwhile;
    nothing of it was sent."""


class Reader(Protocol):
    """A socket's user, or a bearer about to open one: what visibility needs."""

    @property
    def user_id(self) -> int: ...
    @property
    def is_admin(self) -> bool: ...


async def readable(joining: Joining, reader: Reader, room_ids: Sequence[int]) -> set[int]:
    """Those of the rooms the user may read: what the room feeds here know, and one
    query for the rest of a whole subscribe frame."""
    known = {r for r in room_ids if _known_room(joining, r, reader) is not None}
    rest = [r for r in room_ids if r not in known]
    if rest:
        async with joining.reads() as session:
            known |= await readable_room_ids(session, rest, _user(reader))
    return known


def _known_room(joining: Joining, room_id: int, reader: Reader) -> Room | None:
    """The room, if its feed here has read that the user may read it."""
    feed = joining.feeds.feed(room_id)
    return feed.access.room_for(reader.user_id, reader.is_admin) if feed is not None else None


def _user(reader: Reader) -> User:
    """No row is kept per socket: visibility queries take only these two."""
    return User(id=reader.user_id, is_admin=reader.is_admin)


async def subscribe(
    joining: Joining, conn: Connection, room_id: int, since: int | None, ref: str | None = None
) -> Subscription[Connection]:
    """Join, replay. The caller checked visibility (`readable`, for many rooms at
    once); the replay checks it again once the subscription is registered. Raises
    RoomUnavailable before anything of the room is sent."""
    sub = conn.subscriptions[room_id] = Subscription(conn, room_id)
    try:
        await joining.feeds.subscribe(sub)
        await _replay(joining, sub, since, ref)
    except BaseException:
        await joining.feeds.unsubscribe(sub)
        raise
    return sub


async def _replay(joining: Joining, sub: Subscription[Connection], since: int | None, ref: str | None) -> None:
    """welcome, the missed (or newest) entries of the stream, synced; live frames wait meanwhile."""
    conn = sub.conn
    replay = _replay_from_feed(joining, sub, since) or await _read_replay(joining, sub, since)
    # After joining: the user is among them, and later changes are held for this subscription.
    online = await joining.roster.online(sub.room_id)
    # The welcome's `room` is the Room itself; on /ws `hello` said who the user is.
    # The room may end meanwhile (removal, deletion: `unsubscribed` is sent then);
    # nothing of it follows that.
    user_json = None if conn.multiplexed else conn.user_json
    welcome = server_frames.welcome_frame(replay.room, replay.last, user_json, online, ref)
    if not await _send(sub, _Untagged(welcome, sub.room_id)):
        return
    sent = 0
    while True:
        for wire in replay.frames:
            if not await _send(sub, wire):
                return
        sent += len(replay.frames)
        if replay.after >= replay.last:
            break
        await conn.wait_for_space()  # the next chunk is read once the socket can take it
        if sub.ended or conn.close_request is not None:
            return
        await _read_chunk(joining, replay)
    joining.metrics.replay_messages.observe(sent)
    truncated = since is not None and replay.last - replay.start > joining.settings.max_replay
    if await _send(sub, Wire(server_frames.synced_frame(replay.last, sent, truncated, ref), sub.room_id)):
        sub.go_live(replay.last)


async def _send(sub: Subscription[Connection], wire: Wire) -> bool:
    """One frame of the handshake, once the socket's queue has room: written with
    the others of this turn in one write when nothing waits in the queue (as live
    frames are), else queued behind what does. False once the room or the socket
    ended: nothing more of the replay goes out."""
    conn = sub.conn
    if conn.queued_bytes:  # else nothing waits, and there is room
        await conn.wait_for_space()
    if sub.ended or conn.close_request is not None:
        return False
    conn.send_encoded(wire)
    return True


class _Untagged(Wire):
    """A frame about the room that carries the Room itself (`welcome`): not tagged
    with `"room"` on /ws."""

    __slots__ = ()

    def for_(self, socket: WireSocket) -> str | bytes:
        return server_frames.to_msgpack(self.text) if socket.binary else self.text


@dataclass(slots=True)
class Replay:
    room: Room
    last: int  # the replay's end
    start: int  # where the client resumes from
    frames: list[Wire]  # the next frames to send
    after: int  # the seq of the last of them; the replay is read further up to `last`


def _replay_from_feed(joining: Joining, sub: Subscription[Connection], since: int | None) -> Replay | None:
    """The replay from what the room's feed holds, if it holds all of it."""
    feed = joining.feeds.feed(sub.room_id)
    room = _known_room(joining, sub.room_id, sub.conn)
    if feed is None or room is None:
        return None
    # Every seq up to the feed's position was delivered in order, so committed;
    # later ones reach the subscription through the feed.
    last = feed.last_seq
    max_replay = joining.settings.max_replay
    if since is None:
        start = feed.start_of_newest(joining.settings.history_on_connect)
        if start is None:
            return None
        after = max(start, last - max_replay)
    else:
        start = after = min(since, last)
        if last - start > max_replay:
            return None  # truncated: the database says by how much
    entries = feed.kept(after, last)
    return None if entries is None else Replay(room, last, start, entries, last)


async def _read_replay(joining: Joining, sub: Subscription[Connection], since: int | None) -> Replay:
    """The replay from the database; the feed keeps what it read of access."""
    settings = joining.settings
    conn = sub.conn
    feed = joining.feeds.feed(sub.room_id)
    room = _known_room(joining, sub.room_id, conn)
    if feed is not None and room is not None and since is None:
        # The feed knows the room and where it stands: the newest entries alone,
        # in one query and no session.
        replay = Replay(room, feed.last_seq, feed.last_seq, [], feed.last_seq)
        async with _engine(joining).connect() as db:
            await _read_newest(joining, replay, db)
        return replay
    generation = feed.access.generation if feed is not None else 0
    async with joining.reads() as session:
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
            replay = Replay(room, last, last, [], last)
            await _read_newest(joining, replay, session)
        else:
            start = min(since, last)
            # Seqs have no gaps: the newest max_replay entries are those after this.
            replay = Replay(room, last, start, [], max(start, last - settings.max_replay))
            if replay.after < last:
                await _read_chunk(joining, replay, session)
    if feed is not None:
        feed.access.read(room, conn.user_id, generation)
    return replay


async def _read_newest(joining: Joining, replay: Replay, db: AsyncConnection | AsyncSession) -> None:
    """The replay's first chunk: from the newest CHAT_HISTORY_ON_CONNECT messages
    up to its end, at most the newest max_replay entries."""
    settings = joining.settings
    limit = chunk_rows(settings)
    after = max(0, replay.last - settings.max_replay)
    rows = await read_newest(
        db, replay.room.id, settings.history_on_connect, upto=replay.last, after=after, limit=limit
    )
    replay.start = rows[0].seq - 1 if rows else replay.last
    _take(replay, rows, limit)


async def _read_chunk(joining: Joining, replay: Replay, db: AsyncConnection | AsyncSession | None = None) -> None:
    """The replay's next frames, read in `db` or a connection of their own: no
    database connection is held while a client reads."""
    limit = chunk_rows(joining.settings)
    if db is None:
        async with _engine(joining).connect() as own:
            rows = await read_stored(own, replay.room.id, after=replay.after, upto=replay.last, limit=limit)
    else:
        rows = await read_stored(db, replay.room.id, after=replay.after, upto=replay.last, limit=limit)
    _take(replay, rows, limit)


def _take(replay: Replay, rows: Sequence[StreamEvent], limit: int) -> None:
    replay.frames = [Wire(stream_frames.stream_frame(event), replay.room.id) for event in rows]
    replay.after = rows[-1].seq if len(rows) == limit else replay.last


def _engine(joining: Joining) -> AsyncEngine:
    """The read sessions' engine: replays read plain rows, with no session."""
    engine: AsyncEngine = joining.reads.kw["bind"]
    return engine


def chunk_rows(settings: Settings) -> int:
    """Rows whose frames, each of the largest size a message allows (every
    character escaped as six bytes), fit in the half of the socket's byte bound
    that a replay leaves free."""
    largest = 6 * settings.max_message_chars + 1024
    return max(1, min(CHUNK_ROWS, settings.send_queue_bytes // 2 // largest))
