"""uvicorn's websockets-sansio protocol, plus a way for the app to write a server
frame at once: the ASGI extension `chat.write`, a plain function, so a delivery
costs no task wake-up and no chain of ASGI send coroutines.

Server frames are unmasked, so without permessage-deflate one frame's bytes are the
same for every recipient: the app encodes them once (`encode_frame`) and offers
them to each socket. A socket takes them only when they can go out now and in
order; otherwise the app sends through ASGI as before, which waits for the
transport to drain. So the transport's buffer stays bounded by its high-water mark
plus one turn's frames, and a slow client still fills the app's own queue.

Frames a socket takes in one turn of the event loop (a stored batch of k messages
in its room) go out together at the turn's end: k frames in one system call. Every
write that must follow them (ASGI sends, replies to the client's frames, close
frames) sends them first; a keepalive ping may go ahead, as WebSocket allows.

Keepalive pings come from the loop's one timer (keepalive.py) rather than from
two timers a ping, and a lone pong is taken without the frame parser.

A client that reads nothing for `send_timeout` while bytes wait for it (stalls.py)
is a slow consumer: the app is told (`on_stall`) and closes it 1013. A close frame
never waits for a transport that will not drain, and a transport still holding
bytes for a client that reads nothing after its close is dropped: every close
ends, so what the socket held is freed.

This leans on uvicorn's private WebSocketsSansIOProtocol: it reads and sets its
state (conn, writable, queue, disconnected, handshake_complete, initial_response,
close_sent, close_timer, close_timeout, read_paused, request, response, scope),
redoes the close branch of its send() and its shutdown() without waiting for the
transport, and replaces its keepalive (start/stop_keepalive, handle_pong).
tests/transport/test_private_state.py checks each name, its kind, and a digest of
the uvicorn code copied or replaced; test_fast_paths.py checks that chat.write
is taken. pyproject.toml holds uvicorn to the releases they passed on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Final
from weakref import WeakKeyDictionary

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State

from service.transport.keepalive import PING_FRAME, Keepalive, keepalive_of, lone_pong
from service.transport.stalls import WatchedWrites, drop

WRITE: Final = "chat.write"
# What an open socket is told when the server stops.
SHUTDOWN: Final = (1012, "server restarting")
# What a socket that reads nothing while frames wait for it is told.
SLOW: Final = (1013, "slow consumer")
# Seconds a client may read nothing while bytes wait for it (CHAT_SEND_TIMEOUT_SECONDS).
SEND_TIMEOUT: Final = 30.0

# Writes a frame from encode_frame if it can go now; False: send it through ASGI.
Write = Callable[[bytes], bool]


def encode_frame(payload: str | bytes) -> bytes:
    """A whole unmasked server frame: text for str, binary for bytes."""
    if isinstance(payload, str):
        return Frame(Opcode.TEXT, payload.encode()).serialize(mask=False)
    return Frame(Opcode.BINARY, payload).serialize(mask=False)


def writer_of(scope: Mapping[str, Any]) -> Write | None:
    """The socket's `chat.write`, when the server offers it."""
    extension = scope.get("extensions", {}).get(WRITE)
    return None if extension is None else extension["write"]


def on_stall(scope: Mapping[str, Any], callback: Callable[[], None]) -> None:
    """Have `callback` called when the socket's client reads nothing for the send
    timeout while frames wait for it; without one the socket closes itself 1013."""
    extension = scope.get("extensions", {}).get(WRITE)
    if extension is not None:
        extension["on_stall"](callback)


class _Corked:
    """The sockets holding frames of this turn of one event loop."""

    __slots__ = ("loop", "sockets")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sockets: list[ChatWebSocketProtocol] = []

    def add(self, socket: ChatWebSocketProtocol) -> None:
        if not self.sockets:
            self.loop.call_soon(self._flush)
        self.sockets.append(socket)

    def _flush(self) -> None:
        sockets, self.sockets = self.sockets, []
        for socket in sockets:
            socket.uncork()


_CORKED: WeakKeyDictionary[asyncio.AbstractEventLoop, _Corked] = WeakKeyDictionary()


class ChatWebSocketProtocol(WatchedWrites, WebSocketsSansIOProtocol):
    _frames: list[bytes] | None = None  # taken in this turn, not yet written
    _corked: _Corked | None = None
    _keepalive: Keepalive | None = None
    _ping_step: int | None = None  # of the next keepalive turn
    _answered = True  # the client sent something since the last ping
    _on_stall: Callable[[], None] | None = None  # the app's, through on_stall()

    def __init__(self, *args: Any, send_timeout: float = SEND_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._send_timeout = send_timeout

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:  # else refused, with no scope or app
            self.scope["extensions"][WRITE] = {"write": self.write_frame, "on_stall": self._set_on_stall}
            self._corked = _CORKED.get(self.loop) or _CORKED.setdefault(self.loop, _Corked(self.loop))

    def write_frame(self, frame: bytes) -> bool:
        """Take `frame` for the end of this turn if the socket is open, nothing
        compresses its frames and the transport is below its high-water mark."""
        if not self.writable.is_set() or self.disconnected or self.conn.state is not State.OPEN or self.conn.extensions:
            return False
        frames = self._frames
        if frames is None:
            self._frames = [frame]
            assert self._corked is not None
            self._corked.add(self)
        else:
            frames.append(frame)
        return True

    def uncork(self) -> None:
        frames, self._frames = self._frames, None
        if frames and not self.disconnected and not self.transport.is_closing():
            self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))

    # The protocol's own writes: the frames taken before them go first.

    def data_received(self, data: bytes) -> None:  # pongs, close replies
        self._answered = True
        self.uncork()
        if not lone_pong(data, self.conn):
            super().data_received(data)

    async def send(self, message: Any) -> None:  # the ASGI path, and the app's close
        self.uncork()
        if message["type"] == "websocket.close" and not self.writable.is_set() and self._open():
            # The client is not reading: waiting for the transport to drain would
            # hold the close, and the socket, for good.
            self._send_close(message.get("code", 1000), message.get("reason") or "")
            return
        await super().send(message)
        if message["type"] == "websocket.close" and self.close_timer is not None:
            self.close_timer.cancel()  # uvicorn's timer closes without an end
            self.close_timer = self.loop.call_later(self.close_timeout, self._close_transport)
        if message["type"] == "websocket.accept":
            # The handshake's request and response are not read again: an open
            # socket need not keep their headers. The request stays referenced
            # by the websockets parser for the connection's life, so it is emptied.
            self.request.headers.clear()
            del self.request, self.response

    def shutdown(self) -> None:
        """Close an open socket with the closing handshake: the `websocket.close`
        branch of uvicorn's send(), which is async and may wait for the transport,
        done here at once. Closing the TCP socket right away, with the client's
        input unread, resets it, and a reset loses the close frame on its way."""
        self.uncork()
        if not self.handshake_complete or self.initial_response is not None or self.close_sent:
            super().shutdown()
            return
        self.stop_keepalive()
        if self.transport.is_closing():
            return
        self._send_close(*SHUTDOWN)

    def _open(self) -> bool:
        return (
            self.handshake_complete
            and self.initial_response is None
            and not self.close_sent
            and not self.disconnected
            and not self.transport.is_closing()
        )

    def _send_close(self, code: int, reason: str) -> None:
        """uvicorn's close, without waiting for the transport to drain."""
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self._close_transport)

    # Output that waits for a client reading nothing (stalls.py).

    async def run_asgi(self) -> None:
        await super().run_asgi()  # closes the transport unless a close timer will
        self._watch_if_closing()

    def _close_transport(self) -> None:
        """Close once the buffer is sent; not wait for that forever."""
        self.close_timer = None
        self.transport.close()
        self._watch_if_closing()

    def _watch_if_closing(self) -> None:
        if not self.disconnected:
            super()._watch_if_closing()

    def _set_on_stall(self, callback: Callable[[], None]) -> None:
        self._on_stall = callback

    def _stalled(self) -> None:
        if self.close_timer is not None:
            self._watch()  # the closing handshake has its own time first
            return
        if not self._open():
            drop(self.transport)  # not even its close was read
            return
        if self._on_stall is not None:
            self._on_stall()  # the app closes it, as it closes any slow consumer
        else:
            self._send_close(*SLOW)
        self._watch()  # the close has as long to be read

    # Keepalive: turns from the loop's Keepalive instead of two timers per ping.
    # The interval is also the time a client has to answer.

    def start_keepalive(self) -> None:
        if self.ping_interval:
            self._keepalive = keepalive_of(self.loop)
            self._ping_step = self._keepalive.add(self, self.ping_interval)

    def stop_keepalive(self) -> None:
        if self._keepalive is not None and self._ping_step is not None:
            self._keepalive.remove(self, self._ping_step)
        self._keepalive = self._ping_step = None

    def keepalive_turn(self) -> None:
        self._ping_step = None
        if self._keepalive is None or self.close_sent or self.transport.is_closing():
            return
        if not self._answered:
            self.keepalive_timeout()
            return
        self._answered = False
        self.transport.write(PING_FRAME)  # a control frame may go ahead of corked frames
        assert self.ping_interval is not None
        self._ping_step = self._keepalive.add(self, self.ping_interval)

    def handle_pong(self, event: Frame) -> None:
        pass  # data_received took it as the answer

    def keepalive_timeout(self) -> None:
        self.uncork()
        super().keepalive_timeout()
        self._watch_if_closing()
