"""One client socket: its bounded outbound queue, its writer, and how it closes."""

from __future__ import annotations

import asyncio
import itertools
import sys
import uuid
from collections import deque
from dataclasses import dataclass

from starlette.types import Message
from starlette.websockets import WebSocket

from service.realtime.closes import SLOW_CONSUMER
from service.realtime.server_frames import to_msgpack, with_room
from service.realtime.store_window import StoreWindow
from service.realtime.subscription import Subscription
from service.realtime.tokens import Bearer
from service.realtime.wire import Wire
from service.transport import memory
from service.transport.websocket import on_stall, writer_of

# A graceful close first sends what is queued, for at most this long.
FLUSH_SECONDS = 5.0
# Names a socket among every instance's (`origin`).
_INSTANCE = uuid.uuid4().hex[:12]
_serials = itertools.count(1)


@dataclass(frozen=True, slots=True)
class CloseRequest:
    code: int
    reason: str = ""


class Connection:
    """Frames reach the socket only through `queue`, drained by one writer task, so
    a slow client fills its own queue and never delays anyone else.

    The queue holds at most `queue_size` frames and `queue_bytes` bytes (counted as
    what the frames hold in memory, the one the writer is sending included); a
    frame beyond either closes the socket 1013 "slow consumer", as does a client
    that reads nothing for the send timeout while frames wait (the protocol's
    `on_stall`). Past the queue, the transport's buffer holds at most its
    high-water mark and one turn's frames: the writer waits for it to drain.

    The socket's rooms are its `subscriptions` (subscription.py): one on the
    per-room endpoint, any number on the multiplexed one, whose room frames carry
    `"room"`. A `binary` (MessagePack) connection queues bytes: a room frame comes
    encoded for every form (`send_encoded`), while `send_json` and `send_replay`
    take JSON text and convert it."""

    __slots__ = (
        "websocket",
        "serial",
        "user_id",
        "username",
        "is_admin",
        "user_json",
        "jti",
        "family",
        "expires_at",
        "binary",
        "multiplexed",
        "queue_size",
        "queue_bytes",
        "subscriptions",
        "stores",
        "close_request",
        "_queue",
        "_bytes",
        "_write",
        "_sending",
        "_space",
        "_writer",
        "_reader",
        "_receiving",
    )

    def __init__(
        self,
        websocket: WebSocket,
        bearer: Bearer,
        queue_size: int,
        *,
        queue_bytes: int,
        binary: bool = False,
        multiplexed: bool = False,
    ) -> None:
        self.websocket = websocket
        self.serial = next(_serials)
        self.user_id = bearer.user_id
        self.username = bearer.username
        self.is_admin = bearer.is_admin
        self.user_json = bearer.user_json
        self.jti = bearer.claims.jti
        self.family = bearer.claims.family
        self.expires_at = bearer.claims.expires_at
        self.binary = binary
        self.multiplexed = multiplexed
        self.queue_size = queue_size
        self.queue_bytes = queue_bytes
        self.subscriptions: dict[int, Subscription[Connection]] = {}
        self.stores = StoreWindow()  # its messages on their way to the writer
        self.close_request: CloseRequest | None = None
        self._queue: deque[str | bytes] = deque()
        self._bytes = 0  # held by the queue and the frame being sent
        self._write = writer_of(websocket.scope)  # None under a server without chat.write
        on_stall(websocket.scope, self._stalled)
        self._sending = False  # the writer holds a frame it is sending through ASGI
        self._space: asyncio.Event | None = None  # set while a replay waits for room in the queue
        self._writer: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[object] | None = None
        self._receiving = False

    @property
    def origin(self) -> str:
        """This socket's name on every instance."""
        return f"{_INSTANCE}:{self.serial}"

    def watch(self, reader: asyncio.Task[object] | None) -> None:
        """`reader`, the task reading the socket: a close interrupts it while it waits
        in `receive`. Elsewhere (storing, subscribing, a replay) it is never cancelled,
        since a database call cut short can leave its connection in a transaction;
        it sees `close_request` after the frame in hand instead."""
        self._reader = reader

    async def receive(self) -> Message:
        self._receiving = True
        try:
            return await self.websocket.receive()
        finally:
            self._receiving = False

    def _interrupt_reader(self) -> None:
        if self._reader is not None and self._receiving:
            self._reader.cancel()

    async def finish(self, *, flush: bool) -> None:
        """Stop the writer, after it sent what is queued when `flush` (bounded by
        FLUSH_SECONDS); frames sent afterwards are dropped."""
        if self.close_request is None:
            self.close_request = CloseRequest(1000)
        writer = self._writer
        if writer is None:
            return
        if not flush:
            writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)

    def send_json(self, frame: str, room: int | None = None) -> None:
        """Queue a JSON frame (about `room`, tagged so on a multiplexed socket;
        converted for a binary one) without waiting; a full queue closes 1013."""
        if room is not None and self.multiplexed:
            frame = with_room(frame, room)
        self._enqueue(to_msgpack(frame) if self.binary else frame)

    async def send_replay(
        self, frame: str, room: int | None = None, sub: Subscription[Connection] | None = None
    ) -> None:
        """`send_json` for a replay: waits for space instead of overflowing the queue,
        so a long replay paces itself to what the client reads. A frame of `sub` is
        dropped if the subscription ended while it waited."""
        await self.wait_for_space()
        if sub is None or not sub.ended:
            self.send_json(frame, room)

    async def wait_for_space(self) -> None:
        """Wait while the queue holds half its frames or half its bytes, or more:
        a replay leaves the other half to live frames. Returns at once on a close."""
        while self._half_full() and self.close_request is None:
            self._space = self._space or asyncio.Event()
            self._space.clear()
            await self._space.wait()

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def _half_full(self) -> bool:
        return len(self._queue) >= max(1, self.queue_size // 2) or self._bytes >= self.queue_bytes // 2

    def send_encoded(self, wire: Wire) -> None:
        """A room frame encoded once for every socket: written at once when nothing
        is queued or being sent before it and the socket can take it now
        (chat.write), else queued."""
        if (
            self._write is not None
            and not self._queue
            and not self._sending
            and self.close_request is None
            and self._write(wire.frame_for(self))
        ):
            return
        self._enqueue(wire.for_(self))

    def _enqueue(self, frame: str | bytes) -> None:
        """Queue a frame already in this connection's form."""
        if self.close_request is not None:
            return
        size = sys.getsizeof(frame)
        # A frame alone always fits: one larger than the bound is still delivered.
        if len(self._queue) >= self.queue_size or (self._bytes and self._bytes + size > self.queue_bytes):
            self.close(*SLOW_CONSUMER)
            return
        self._queue.append(frame)
        self._bytes += size
        if self._writer is None:
            # A writer runs only while frames are queued: an idle socket keeps no task.
            self._writer = asyncio.get_running_loop().create_task(self._write_frames())

    def close(self, code: int, reason: str = "") -> None:
        """Ask for the socket to close: the writer stops (after flushing, unless the
        client is too slow to read) and the endpoint sends the close frame."""
        if self.close_request is not None:
            return
        self.close_request = CloseRequest(code, reason)
        if self._space is not None:
            self._space.set()  # a replay waiting for room gives up
        self._interrupt_reader()
        writer = self._writer
        if writer is None:
            return
        if (code, reason) == SLOW_CONSUMER:
            memory.freed(self._bytes)
            self._clear()
            writer.cancel()
        else:
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, writer.cancel)

    def _stalled(self) -> None:
        """The client read nothing for the send timeout while frames waited for it."""
        self.close(*SLOW_CONSUMER)

    def _clear(self) -> None:
        self._queue.clear()
        self._bytes = 0

    async def _write_frames(self) -> None:
        send = self.websocket.send
        queue = self._queue
        key = "bytes" if self.binary else "text"
        try:
            while queue:
                frame = queue.popleft()
                self._sending = True
                await send({"type": "websocket.send", key: frame})
                self._sending = False
                self._bytes -= sys.getsizeof(frame)
                if self._space is not None and not self._half_full():
                    self._space.set()
            self._writer = None  # the next queued frame starts another
        except Exception:
            self._lost()  # the client is gone (ClientDisconnected, a reset): nothing more can be sent

    def _lost(self) -> None:
        """The socket can take no more frames: stop everything that waits on it (a
        replay waiting for room in the queue, the reader), so the endpoint releases it."""
        if self.close_request is None:
            self.close_request = CloseRequest(1000)
        self._clear()
        if self._space is not None:
            self._space.set()
        self._interrupt_reader()
