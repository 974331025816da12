"""The two WebSocket routes, top to bottom: handshake → subscriptions → read loop.

`/ws/rooms/{room_id}` is a socket subscribed to one room at the handshake;
`/ws` starts with `hello` and subscribes rooms as the client asks. One frame's
journey: `_read_frames` → protocol.parse_* → sending.send_message → the writer
(messages/writer.py: batch, commit) → fanout.publish_stored → the broker →
fanout.on_message → the room's feed (feed.py: seq order) → each subscription →
its connection: written at once, or queued for its writer task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.routing import WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket

from service.config import Settings
from service.metrics import Metrics
from service.realtime import protocol, server_frames
from service.realtime.closes import (
    INTERNAL_ERROR,
    REQUESTED,
    ROOM_NOT_FOUND,
    SLOW_CONSUMER,
    TOKEN_EXPIRED,
)
from service.realtime.connection import Connection
from service.realtime.feeds import Feeds
from service.realtime.handshake import Gate, Rejected, admit, authenticate, check_origin, parse_since, room_id
from service.realtime.protocol import FrameError, Ping, Read, SendMessage, Subscribe, Typing, Unsubscribe
from service.realtime.ratelimit import TokenBucket
from service.realtime.read_markers import ReadMarkers, read
from service.realtime.roster import Roster
from service.realtime.sending import Sending, send_message
from service.realtime.subscribing import Joining, RoomUnavailable, readable, subscribe
from service.realtime.subscription import Subscription

log = logging.getLogger("service.realtime")

CLOSE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Sockets:
    """What the socket routes use, each step its own (built in main.py, kept on
    `app.state.sockets`); the REST routes share none of it."""

    gate: Gate  # handshake.py
    joining: Joining  # subscribing.py
    sending: Sending  # sending.py
    read_markers: ReadMarkers  # read_markers.py
    feeds: Feeds  # rooms left on `unsubscribe` and when the socket goes
    roster: Roster  # typing notices
    settings: Settings  # frame and rate bounds
    metrics: Metrics


async def room_socket(websocket: WebSocket) -> None:
    await _run(websocket, websocket.path_params["room_id"])


async def multiplexed_socket(websocket: WebSocket) -> None:
    await _run(websocket, None)


# Plain Starlette routes, reached past the HTTP middleware (main.py): every layer
# a socket passes through stays on its task's stack for as long as it is open.
routes = [WebSocketRoute("/ws/rooms/{room_id}", room_socket), WebSocketRoute("/ws", multiplexed_socket)]


async def _run(websocket: WebSocket, raw_room_id: str | None) -> None:
    sockets: Sockets = websocket.app.state.sockets
    subprotocol = protocol.choose_subprotocol(websocket.scope.get("subprotocols", []))
    # Accept first: a close before accept reaches real clients as HTTP 403, no code.
    await websocket.accept(subprotocol=subprotocol)
    binary = subprotocol == protocol.MSGPACK_SUBPROTOCOL
    conn: Connection | None = None
    expiry: asyncio.TimerHandle | None = None
    try:
        check_origin(websocket, sockets.gate)
        if raw_room_id is not None:
            conn = await _open_room_socket(websocket, sockets, raw_room_id, binary)
        else:
            bearer = await authenticate(websocket, sockets.gate)
            conn = admit(websocket, sockets.gate, bearer, binary=binary, multiplexed=True)
            conn.send_json(server_frames.hello_frame(conn.user_json))
        delay = (conn.expires_at - datetime.now(UTC)).total_seconds()
        expiry = asyncio.get_running_loop().call_later(max(delay, 0), conn.close, *TOKEN_EXPIRED)
        await _serve(websocket, conn, sockets)
    except Rejected as exc:
        if conn is not None:
            await conn.finish(flush=False)
        await _close(websocket, *exc.close)
    except Exception:
        log.exception("websocket handler failed")
        if conn is not None:
            await conn.finish(flush=False)
        await _close(websocket, *INTERNAL_ERROR)
    finally:
        if expiry is not None:
            expiry.cancel()
        if conn is not None:
            await sockets.feeds.leave(conn)


async def _open_room_socket(websocket: WebSocket, sockets: Sockets, raw_room_id: str, binary: bool) -> Connection:
    """since, token, room id: the first failure closes 1008; then admission, and the
    room's replay, which checks that the user may read it."""
    since = parse_since(websocket.query_params.get("since"))
    bearer = await authenticate(websocket, sockets.gate)
    room = room_id(raw_room_id)
    if room is None:
        raise Rejected(ROOM_NOT_FOUND)
    conn = admit(websocket, sockets.gate, bearer, binary=binary, multiplexed=False)
    try:
        await subscribe(sockets.joining, conn, room, since)
    except BaseException as exc:
        # Admitted but never returned: released here, or it would hold its place in
        # the user's and the process's caps until the server stops.
        await conn.finish(flush=False)
        await sockets.feeds.leave(conn)
        if isinstance(exc, RoomUnavailable):
            raise Rejected(ROOM_NOT_FOUND) from None
        raise
    return conn


async def _serve(websocket: WebSocket, conn: Connection, sockets: Sockets) -> None:
    """Read in this task; the connection's writer sends. A close the server asks
    for (Connection.close) interrupts the reading here."""
    conn.watch(asyncio.current_task())
    try:
        await _read_frames(sockets, conn)
    except asyncio.CancelledError:
        if conn.close_request is None:
            await conn.finish(flush=False)
            raise
        asyncio.current_task().uncancel()  # type: ignore[union-attr]
    except BaseException:
        await conn.finish(flush=False)
        raise
    request = conn.close_request
    # A graceful close sends what is queued first; the client that closed gets nothing more.
    graceful = request is not None and (request.code, request.reason) != SLOW_CONSUMER
    await conn.finish(flush=graceful)
    if request is None:
        return  # the client closed
    if (request.code, request.reason) == SLOW_CONSUMER:
        sockets.metrics.slow_consumer_closes.inc()
    await _close(websocket, request.code, request.reason)


async def _read_frames(sockets: Sockets, conn: Connection) -> None:
    """Read until the client goes away; every bad frame is answered, none is fatal."""
    settings = sockets.settings
    bucket = TokenBucket(settings.rate_per_second, settings.rate_burst)
    while conn.close_request is None:
        message = await conn.receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            frame = _parse(message, conn, settings.max_message_chars)
            match frame:
                case Ping(ref=ref):
                    conn.send_json(server_frames.pong_frame(ref))
                case Typing():
                    await sockets.roster.typing(_subscription(conn, frame.room, frame.ref))
                case SendMessage():
                    await send_message(
                        sockets.sending, _subscription(conn, frame.room, frame.ref, frame.client_msg_id), frame, bucket
                    )
                case Read():
                    await read(sockets.read_markers, _subscription(conn, frame.room, frame.ref), frame)
                case Subscribe(rooms=rooms, ref=ref):
                    await _subscribe_rooms(sockets, conn, rooms, ref)
                case Unsubscribe(rooms=room_ids, ref=ref):
                    await _unsubscribe_rooms(sockets.feeds, conn, room_ids, ref)
        except FrameError as exc:
            conn.send_json(server_frames.error_frame(exc))


def _parse(message: Message, conn: Connection, max_message_chars: int) -> protocol.ClientFrame:
    """A frame in the connection's encoding: JSON text, or MessagePack binary."""
    if conn.binary:
        data = message.get("bytes")
        if data is None:
            raise FrameError("unsupported_frame", "text frames are not supported under chat.v1.msgpack")
        return protocol.parse_msgpack_frame(data, max_message_chars, multiplexed=conn.multiplexed)
    text = message.get("text")
    if text is None:
        raise FrameError("unsupported_frame", "binary frames are not supported here; send JSON text")
    return protocol.parse_client_frame(text, max_message_chars, multiplexed=conn.multiplexed)


def _subscription(
    conn: Connection, room: int | None, ref: str | None, client_msg_id: str | None = None
) -> Subscription[Connection]:
    """The frame's room on this socket: the per-room socket's own, or one subscribed on /ws."""
    if not conn.multiplexed:
        return next(iter(conn.subscriptions.values()))
    sub = conn.subscriptions.get(room) if room is not None else None
    if sub is None or sub.ended:
        raise FrameError("not_subscribed", "subscribe to the room first", client_msg_id, room=room, ref=ref)
    return sub


async def _subscribe_rooms(
    sockets: Sockets, conn: Connection, rooms: tuple[tuple[int, int | None], ...], ref: str | None
) -> None:
    """Each room in the order given; a room that cannot be served is answered and the rest go on."""
    limit = sockets.settings.max_rooms_per_socket
    visible = await readable(sockets.joining, conn, [room for room, _ in rooms])
    for room, since in rooms:
        if conn.close_request is not None:
            return
        # Answers are paced like replays: a frame naming many rooms cannot overflow the queue.
        if room in conn.subscriptions:
            await conn.send_replay(
                server_frames.error_frame(FrameError("already_subscribed", "already subscribed", room=room, ref=ref))
            )
        elif len(conn.subscriptions) >= limit:
            detail = f"at most {limit} rooms on one socket"
            await conn.send_replay(server_frames.error_frame(FrameError("too_many_rooms", detail, room=room, ref=ref)))
        else:
            served = False
            if room in visible:
                with contextlib.suppress(RoomUnavailable):  # deleted, or left, since the check
                    await subscribe(sockets.joining, conn, room, since, ref)
                    served = True
            if not served:
                await conn.send_replay(
                    server_frames.error_frame(FrameError("room_not_found", "room not found", room=room, ref=ref))
                )


async def _unsubscribe_rooms(feeds: Feeds, conn: Connection, room_ids: tuple[int, ...], ref: str | None) -> None:
    for room in room_ids:
        sub = conn.subscriptions.get(room)
        if sub is None or sub.ended:
            await conn.send_replay(
                server_frames.error_frame(FrameError("not_subscribed", "not subscribed", room=room, ref=ref))
            )
            continue
        sub.end()  # nothing more of the room goes out, from here on
        await conn.send_replay(server_frames.unsubscribed_frame(room, REQUESTED, ref))
        await feeds.unsubscribe(sub)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
            await websocket.send({"type": "websocket.close", "code": code, "reason": reason})
