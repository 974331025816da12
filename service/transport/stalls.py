"""A client that reads nothing while bytes wait for it: found without a task.

A transport past its high-water mark pauses its protocol for writing, and the app
then waits for it to drain before writing more; a client that stops reading leaves
it paused for good, its buffer (and whatever the app queued behind it) held. While
paused, or closing with bytes still buffered, nothing is written to the buffer
(but a two-byte ping), so it shrinks only when the client reads. A timer, armed
only then, looks at the buffer's size every quarter of the timeout; when it has
not shrunk for the whole timeout, the owner is told. Idle transports arm nothing."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from typing import Final

from service.transport import memory

# Looks per timeout: a stall is seen at most a quarter of the timeout late.
CHECKS: Final = 4
_RESET: Final = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() resets


def drop(transport: asyncio.Transport) -> None:
    """End a connection at once, discarding what it holds for the client. Closing
    the socket alone would leave the kernel sending its buffer (megabytes) to a
    client that reads nothing; a reset frees it."""
    memory.freed(transport.get_write_buffer_size())
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        except OSError:
            pass  # closed already
    transport.abort()


class StallWatch:
    __slots__ = ("_loop", "_transport", "_timeout", "_on_stall", "_timer", "_size", "_progress_at")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.WriteTransport,
        timeout: float,
        on_stall: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._transport = transport
        self._timeout = timeout
        self._on_stall = on_stall
        self._timer: asyncio.TimerHandle | None = None
        self._size = 0
        self._progress_at = 0.0

    @property
    def watching(self) -> bool:
        return self._timer is not None

    def start(self) -> None:
        """Bytes wait for the client; a watch already running keeps its clock."""
        if self._timer is None:
            self._size = self._transport.get_write_buffer_size()
            self._progress_at = self._loop.time()
            self._timer = self._loop.call_later(self._timeout / CHECKS, self._check)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        size = self._transport.get_write_buffer_size()
        if size == 0:
            return  # the client took everything
        now = self._loop.time()
        if size < self._size:
            self._progress_at = now
        self._size = size
        left = self._progress_at + self._timeout - now
        if left <= 0.001:  # a timer may fire a hair early
            self._on_stall()
        else:
            self._timer = self._loop.call_later(min(self._timeout / CHECKS, left), self._check)


class WatchedWrites(asyncio.Protocol):
    """The protocol's side of a StallWatch, mixed in ahead of a uvicorn protocol:
    the watch runs while the transport is paused for writing (or closing with bytes
    left) and `_stalled` is called when the client read nothing for `_send_timeout`."""

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _send_timeout: float
    _stall: StallWatch | None = None  # made the first time output waits for the client

    def pause_writing(self) -> None:
        super().pause_writing()
        self._watch()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stall is not None:
            self._stall.stop()
            self._watch_if_closing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._stall is not None:
            self._stall.stop()
        super().connection_lost(exc)  # also releases a response waiting to drain

    def _watch_if_closing(self) -> None:
        """The transport closes once its buffer is sent: the client must read it."""
        if self.transport.is_closing() and self.transport.get_write_buffer_size():
            self._watch()

    def _watch(self) -> None:
        if self._stall is None:
            self._stall = StallWatch(self.loop, self.transport, self._send_timeout, self._stalled)
        self._stall.start()

    def _stalled(self) -> None:
        raise NotImplementedError
