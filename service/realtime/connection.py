"""One client socket: its bounded outbound queue, its writer, and how it closes."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from starlette.websockets import WebSocket

from service.auth.models import User
from service.auth.security import TokenClaims
from service.realtime.protocol import to_msgpack

SLOW_CONSUMER = (1013, "slow consumer")
# Messages of one connection queued for storing at once; beyond it the reader waits.
MAX_PENDING_STORES = 64
# A graceful close first sends what is queued, for at most this long.
FLUSH_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class CloseRequest:
    code: int
    reason: str = ""


class Connection:
    """Frames reach the socket only through `queue`, drained by one writer task, so
    a slow client fills its own queue and never delays anyone else.

    Until `go_live`, room messages are held back while the endpoint sends the
    replay; afterwards a message frame is queued only if its seq is above every
    seq this connection already has, so replay and live traffic never overlap.

    A `binary` (MessagePack) connection queues bytes: the hub hands `deliver` and
    `deliver_ephemeral` frames already in the connection's encoding, while `send`
    takes JSON text and converts it."""

    __slots__ = (
        "websocket",
        "user_id",
        "username",
        "jti",
        "family",
        "expires_at",
        "room_id",
        "binary",
        "last_seq",
        "close_request",
        "_queue",
        "_queue_size",
        "_wake",
        "_live",
        "_held",
        "_writer",
        "_reader",
        "_pending_stores",
        "_stores_below_limit",
    )

    def __init__(
        self,
        websocket: WebSocket,
        user: User,
        claims: TokenClaims,
        room_id: int,
        queue_size: int,
        *,
        binary: bool = False,
    ) -> None:
        self.websocket = websocket
        self.user_id = user.id
        self.username = user.username
        self.jti = claims.jti
        self.family = claims.family
        self.expires_at = claims.expires_at
        self.room_id = room_id
        self.binary = binary
        self.last_seq = 0
        self.close_request: CloseRequest | None = None
        self._queue: deque[str | bytes] = deque()
        self._queue_size = queue_size
        self._wake: asyncio.Future[None] | None = None  # set while the writer waits
        self._live = False
        self._held: list[tuple[int, str | bytes]] = []  # seq 0: a presence or typing frame
        self._writer: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[object] | None = None
        self._pending_stores = 0
        self._stores_below_limit: asyncio.Event | None = None

    def stores_started(self) -> None:
        self._pending_stores += 1

    def store_finished(self) -> None:
        self._pending_stores -= 1
        if self._stores_below_limit is not None and self._pending_stores < MAX_PENDING_STORES:
            self._stores_below_limit.set()

    def too_many_stores(self) -> bool:
        return self._pending_stores >= MAX_PENDING_STORES

    async def stores_below_limit(self) -> None:
        self._stores_below_limit = asyncio.Event()
        while self.too_many_stores():
            self._stores_below_limit.clear()
            await self._stores_below_limit.wait()

    def watch(self, reader: asyncio.Task[object] | None) -> None:
        """`reader`, the task reading the socket, is cancelled by close()."""
        self._reader = reader
        if self.close_request is not None and reader is not None:
            reader.cancel()  # closed while the replay was being sent

    async def finish(self, *, flush: bool) -> None:
        """Stop the writer, after it sent what is queued when `flush` (bounded by
        FLUSH_SECONDS); frames offered afterwards are dropped."""
        if self.close_request is None:
            self.close_request = CloseRequest(1000)
        writer = self._writer
        if writer is None:
            return
        if flush:
            self._wake_writer()
        else:
            writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)

    # Called by the hub, in seq order per room.
    def deliver(self, seq: int, frame: str | bytes) -> None:
        if self.close_request is not None:
            return
        if not self._live:
            self._hold(seq, frame)
            return
        if seq > self.last_seq:
            self.last_seq = seq
            self._enqueue(frame)

    def deliver_ephemeral(self, frame: str | bytes) -> None:
        """Presence and typing: not part of the seq stream, but kept behind the
        replay like messages, so they never arrive before `welcome`."""
        if self.close_request is not None:
            return
        if not self._live:
            self._hold(0, frame)
            return
        self._enqueue(frame)

    def _hold(self, seq: int, frame: str | bytes) -> None:
        self._held.append((seq, frame))
        if len(self._held) > self._queue_size:
            self.close(*SLOW_CONSUMER)

    def go_live(self, last_seq: int) -> None:
        """The replay covered every seq up to `last_seq`; release what came meanwhile."""
        self.last_seq = max(self.last_seq, last_seq)
        self._live = True
        held, self._held = self._held, []
        for seq, frame in held:
            if seq == 0:
                self.deliver_ephemeral(frame)
            else:
                self.deliver(seq, frame)

    def wire(self, frame: str) -> dict[str, object]:
        """The ASGI message carrying a JSON frame in this connection's encoding."""
        if self.binary:
            return {"type": "websocket.send", "bytes": to_msgpack(frame)}
        return {"type": "websocket.send", "text": frame}

    def send(self, frame: str) -> None:
        """Queue a JSON frame (converted for a binary connection) without waiting;
        a full queue closes the connection 1013."""
        self._enqueue(to_msgpack(frame) if self.binary else frame)

    def _enqueue(self, frame: str | bytes) -> None:
        if self.close_request is not None:
            return
        if len(self._queue) >= self._queue_size:
            self.close(*SLOW_CONSUMER)
            return
        self._queue.append(frame)
        if self._writer is None:
            # Started with the first queued frame and kept: an idle socket has no writer task.
            self._writer = asyncio.get_running_loop().create_task(self._write_frames())
        else:
            self._wake_writer()

    def _wake_writer(self) -> None:
        wake, self._wake = self._wake, None
        if wake is not None and not wake.done():
            wake.set_result(None)

    def close(self, code: int, reason: str = "") -> None:
        """Ask for the socket to close: the writer stops (after flushing, unless the
        client is too slow to read) and the endpoint sends the close frame."""
        if self.close_request is not None:
            return
        self.close_request = CloseRequest(code, reason)
        self._wake_writer()
        if self._reader is not None:
            self._reader.cancel()
        writer = self._writer
        if writer is None:
            return
        if (code, reason) == SLOW_CONSUMER:
            self._queue.clear()
            writer.cancel()
        else:
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, writer.cancel)

    async def _write_frames(self) -> None:
        send = self.websocket.send
        queue = self._queue
        key = "bytes" if self.binary else "text"
        loop = asyncio.get_running_loop()
        while True:
            while queue:
                await send({"type": "websocket.send", key: queue.popleft()})
            if self.close_request is not None:
                return
            self._wake = loop.create_future()
            await self._wake
