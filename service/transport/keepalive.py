"""Keepalive pings for all the sockets of an event loop, from one timer.

uvicorn's own keepalive arms two timers for every ping (the next ping, the
pong's deadline) and builds each ping frame with a random payload; with
thousands of idle sockets that was most of what an idle instance spent
(docs/performance.md). Here one timer per loop wakes at most every TICK_SECONDS and
gives a turn to the sockets whose interval is up. A socket's turn either sends
it the same two-byte ping or, when nothing has come from the client since the
previous ping, closes it: any bytes from the client answer a ping as well as a
pong does, so a client has one interval to answer. The pongs themselves, most
of what an idle socket reads, skip the frame parser (lone_pong).

lone_pong reads websockets' private parser state: `conn.reader.buffer` and the
generator chain of `conn.parser` (ServerProtocol.parse into Protocol.parse, waiting
in StreamReader.at_eof between frames), recognised by those functions' code
objects. tests/transport/test_private_state.py fails when that shape changes and
test_fast_paths.py when the shortcut stops being taken; pyproject.toml holds
websockets to the releases they passed on."""

from __future__ import annotations

import asyncio
import heapq
from typing import Any, Final, Protocol
from weakref import WeakKeyDictionary

from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol as Connection
from websockets.streams import StreamReader

# Turns are served in steps of this many seconds: a ping is due within one step
# of its interval, and each wake-up serves a step's share of the sockets.
TICK_SECONDS: Final = 0.25
PING_FRAME: Final = Frame(Opcode.PING, b"").serialize(mask=False)


# A pong alone in a read, while the parser waits between frames, is taken without
# parsing: it is most of what idle sockets read. The parser's state is recognised
# by websockets' own code objects; were they to change, every pong is parsed.
_PONG_FIN: Final = 0x80 | Opcode.PONG.value
_PARSE_FRAMES: Final = Connection.parse.__code__
_AT_EOF: Final = StreamReader.at_eof.__code__


def lone_pong(data: bytes, conn: Connection) -> bool:
    """`data` is one whole masked pong (payload ≤ 125 bytes), and the connection's
    parser waits for a frame with nothing buffered, so parsing `data` would do
    nothing but see a pong. Anything else goes through the parser."""
    if not 6 <= len(data) <= 131 or data[0] != _PONG_FIN or data[1] != 0x80 | (len(data) - 6) or conn.reader.buffer:
        return False
    parser: Any = conn.parser
    frames = parser.gi_yieldfrom  # the server's parser past the handshake
    waiting = getattr(frames, "gi_yieldfrom", None)
    return frames is not None and frames.gi_code is _PARSE_FRAMES and waiting is not None and waiting.gi_code is _AT_EOF


class Pinged(Protocol):
    def keepalive_turn(self) -> None:
        """Ping, or close for want of an answer; a socket pinged adds itself again."""


class Keepalive:
    """The sockets of one event loop by the step of their next turn."""

    __slots__ = ("_due", "_loop", "_steps", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: dict[int, set[Pinged]] = {}
        self._steps: list[int] = []  # the keys of _due, as a heap
        self._timer: asyncio.TimerHandle | None = None

    def _now(self) -> int:
        # Rounded, not floored: a timer that fires a little early still serves its step.
        return round(self._loop.time() / TICK_SECONDS)

    def add(self, socket: Pinged, interval: float) -> int:
        """Give `socket` a turn `interval` seconds from now; returns the step, for remove()."""
        step = self._now() + max(1, round(interval / TICK_SECONDS))
        sockets = self._due.get(step)
        if sockets is None:
            self._due[step] = sockets = set()
            heapq.heappush(self._steps, step)
            if self._steps[0] == step:
                self._arm()
        sockets.add(socket)
        return step

    def remove(self, socket: Pinged, step: int) -> None:
        sockets = self._due.get(step)
        if sockets is not None:
            sockets.discard(socket)

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(self._steps[0] * TICK_SECONDS, self._run)

    def _run(self) -> None:
        self._timer = None
        now = self._now()
        while self._steps and self._steps[0] <= now:
            for socket in self._due.pop(heapq.heappop(self._steps)):
                socket.keepalive_turn()  # adds itself at a later step, past `now`
        if self._steps:
            self._arm()


_BY_LOOP: WeakKeyDictionary[asyncio.AbstractEventLoop, Keepalive] = WeakKeyDictionary()


def keepalive_of(loop: asyncio.AbstractEventLoop) -> Keepalive:
    keepalive = _BY_LOOP.get(loop)
    if keepalive is None:
        _BY_LOOP[loop] = keepalive = Keepalive(loop)
    return keepalive
