"""The WebSocket route: handshake checks, welcome → replay → synced, then live frames.

One client frame's journey: `_read_frames` → `_parse` (JSON, or MessagePack under
chat.v1.msgpack) →
`_send_message` → MessageWriter.submit (messages/store.py: batch, commit) →
hub.publish_stored → broker → hub feed (seq order) → every Connection's queue →
its writer task. `_stored` then answers the sender where the room's stream does
not: a repeated client_msg_id, or `unavailable`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from starlette.types import Message

from service.auth.models import User
from service.auth.security import TokenClaims, TokenError
from service.auth.service import user_for_access_token
from service.errors import NotFound
from service.messages.store import RoomGone, StoredMessage, StoreResult, read_stored
from service.paging import MAX_DB_INT, MAX_SEQ
from service.realtime import protocol
from service.realtime.connection import SLOW_CONSUMER, Connection
from service.realtime.hub import RESTARTING, TOO_MANY
from service.realtime.protocol import FrameError, Ping, SendMessage, Typing
from service.realtime.ratelimit import TokenBucket
from service.resources import Resources
from service.rooms.models import Room
from service.rooms.service import room_for_reader

log = logging.getLogger("service.realtime")

router = APIRouter()

UNAVAILABLE = "the message could not be stored; retry with the same client_msg_id"
CLOSE_TIMEOUT_SECONDS = 5.0


class Rejected(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@router.websocket("/ws/rooms/{room_id}")
async def room_socket(websocket: WebSocket, room_id: str) -> None:
    resources: Resources = websocket.app.state.resources
    hub = resources.hub
    subprotocol = protocol.choose_subprotocol(websocket.scope.get("subprotocols", []))
    # Accept first: a close before accept reaches real clients as HTTP 403, no code.
    await websocket.accept(subprotocol=subprotocol)
    conn: Connection | None = None
    expiry: asyncio.TimerHandle | None = None
    try:
        conn = await _open(websocket, resources, room_id, binary=subprotocol == protocol.MSGPACK_SUBPROTOCOL)
        delay = (conn.expires_at - datetime.now(UTC)).total_seconds()
        expiry = asyncio.get_running_loop().call_later(max(delay, 0), conn.close, 1008, "token expired")
        await _serve(websocket, conn, resources)
    except Rejected as exc:
        await _close(websocket, exc.code, exc.reason)
    except Exception:
        log.exception("websocket handler failed")
        await _close(websocket, 1011, "internal error")
    finally:
        if expiry is not None:
            expiry.cancel()
        if conn is not None:
            await hub.leave(conn)


async def _open(websocket: WebSocket, resources: Resources, room_id: str, *, binary: bool) -> Connection:
    """Checks, admission, then welcome → replay → synced. Nothing of the user's ORM
    row outlives this: an idle connection keeps only what it needs."""
    user, claims, since = await _authorize(websocket, resources, room_id)
    conn = Connection(websocket, user, claims, int(room_id), resources.settings.send_queue, binary=binary)
    if resources.hub.draining:
        raise Rejected(*RESTARTING)
    if not resources.hub.admit(conn):
        raise Rejected(*TOO_MANY)
    try:
        await resources.hub.join(conn, protocol.encode_user(user))
        await _replay(websocket, resources, conn, user, since)
    except BaseException:
        await resources.hub.leave(conn)
        raise
    return conn


async def _authorize(
    websocket: WebSocket, resources: Resources, raw_room_id: str
) -> tuple[User, TokenClaims, int | None]:
    """Origin, token, room: the first failure closes 1008 with its reason."""
    if not _origin_allowed(websocket, resources.settings.origins):
        raise Rejected(1008, "origin not allowed")
    since = _parse_since(websocket.query_params.get("since"))
    async with resources.sessionmaker() as session:
        try:
            token = websocket.query_params.get("token") or protocol.offered_token(websocket.scope["subprotocols"])
            user, claims = await user_for_access_token(session, resources.codec, token)
        except TokenError as exc:
            raise Rejected(1008, exc.reason) from None
        if not (raw_room_id.isascii() and raw_room_id.isdigit() and 0 < int(raw_room_id) <= MAX_DB_INT):
            raise Rejected(1008, "room not found")
        try:
            await room_for_reader(session, int(raw_room_id), user)
        except NotFound:
            raise Rejected(1008, "room not found") from None
    return user, claims, since


async def _replay(websocket: WebSocket, resources: Resources, conn: Connection, user: User, since: int | None) -> None:
    """welcome, the missed (or newest) messages, synced; live messages wait meanwhile."""
    settings = resources.settings
    async with resources.sessionmaker() as session:
        room = await session.get(Room, conn.room_id)
        if room is None:
            raise Rejected(1001, "room deleted")
        # last_seq first: every seq up to it has committed, so the replay has no holes.
        last = room.last_seq
        if since is None:
            start, limit = 0, settings.history_on_connect
        else:
            start, limit = min(since, last), settings.max_replay
        rows: list[StoredMessage] = []
        if limit > 0 and start < last:
            rows = await read_stored(session, room.id, after=start, upto=last, limit=limit, newest=True)
    # After join: the user is among them, and later changes are held for this socket.
    online = await resources.hub.online(conn.room_id)
    send, wire = websocket.send, conn.wire
    await send(wire(protocol.welcome_frame(room, user, online)))
    for message in rows:
        await send(wire(protocol.message_frame(message)))
    resources.metrics.replay_messages.observe(len(rows))
    truncated = since is not None and last - start > settings.max_replay
    await send(wire(protocol.synced_frame(last, len(rows), truncated)))
    conn.go_live(last)


async def _serve(websocket: WebSocket, conn: Connection, resources: Resources) -> None:
    """Read in this task; the connection's writer sends. A close the server asks
    for (Connection.close) interrupts the reading here."""
    conn.watch(asyncio.current_task())
    try:
        await _read_frames(websocket, resources, conn)
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
        resources.metrics.slow_consumer_closes.inc()
    await _close(websocket, request.code, request.reason)


async def _read_frames(websocket: WebSocket, resources: Resources, conn: Connection) -> None:
    """Read until the client goes away; every bad frame is answered, none is fatal."""
    settings = resources.settings
    bucket = TokenBucket(settings.rate_per_second, settings.rate_burst)
    receive = websocket.receive
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            frame = _parse(message, conn.binary, settings.max_message_chars)
            if isinstance(frame, Ping):
                conn.send(protocol.PONG_FRAME)
                continue
            if isinstance(frame, Typing):
                await resources.hub.typing(conn)
                continue
            wait = bucket.take()
            if wait > 0:
                raise FrameError(
                    "rate_limited", "sending too fast", frame.client_msg_id, retry_after_ms=math.ceil(wait * 1000)
                )
            if conn.too_many_stores():
                await conn.stores_below_limit()
            _send_message(resources, conn, frame)
        except FrameError as exc:
            conn.send(protocol.error_frame(exc))


def _parse(message: Message, binary: bool, max_message_chars: int) -> protocol.ClientFrame:
    """A frame in the connection's encoding: JSON text, or MessagePack binary."""
    if binary:
        data = message.get("bytes")
        if data is None:
            raise FrameError("unsupported_frame", "text frames are not supported under chat.v1.msgpack")
        return protocol.parse_msgpack_frame(data, max_message_chars)
    text = message.get("text")
    if text is None:
        raise FrameError("unsupported_frame", "binary frames are not supported here; send JSON text")
    return protocol.parse_client_frame(text, max_message_chars)


def _send_message(resources: Resources, conn: Connection, frame: SendMessage) -> None:
    """Hand the message to the writer without waiting for it: a sender's messages
    keep their order in the writer's queue and share transactions with each other."""
    try:
        future = resources.writer.submit(conn.room_id, conn.user_id, conn.username, frame.body, frame.client_msg_id)
    except Exception as exc:
        log.warning("could not queue a message: %s: %s", type(exc).__name__, exc)
        raise FrameError("unavailable", UNAVAILABLE, frame.client_msg_id) from None
    conn.stores_started()
    future.add_done_callback(functools.partial(_stored, resources, conn, frame.client_msg_id, time.perf_counter()))


def _stored(
    resources: Resources,
    conn: Connection,
    client_msg_id: str | None,
    started: float,
    future: asyncio.Future[StoreResult],
) -> None:
    """After commit (and publish): answer the sender where the room's stream does not."""
    conn.store_finished()
    resources.metrics.store_seconds.observe(time.perf_counter() - started)
    exc = future.exception() if not future.cancelled() else asyncio.CancelledError()
    if isinstance(exc, RoomGone):
        conn.close(1001, "room deleted")
    elif exc is not None:
        log.warning("storing a message failed: %s: %s", type(exc).__name__, exc)
        conn.send(protocol.error_frame(FrameError("unavailable", UNAVAILABLE, client_msg_id)))
    elif future.result().created:
        resources.metrics.messages_stored.inc()
    else:
        # The original, to the sender only, marked so it is not taken for a new message.
        conn.send(protocol.message_frame(future.result().message, duplicate=True))


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
            await websocket.send({"type": "websocket.close", "code": code, "reason": reason})


def _parse_since(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_SEQ:
        raise Rejected(1008, "invalid since")
    return int(raw)


def _origin_allowed(websocket: WebSocket, allowed: frozenset[str]) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    origin = origin.rstrip("/")
    if origin in allowed:
        return True
    host = websocket.headers.get("host")
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()
