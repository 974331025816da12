"""One room on one socket: its place in the room's stream.

Until `go_live`, the room's frames are held back while the replay is sent;
afterwards a message frame is queued only if its seq is above every seq this
subscription already has, so replay and live traffic never overlap and nothing
repeats. Held frames count against the socket's queue size: a client that cannot
take its replay is a slow consumer.

A subscription is typed by its socket, `Subscription[Connection]` (connection.py),
so this module needs nothing of the connection's but what `Socket` names."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from service.realtime.closes import SLOW_CONSUMER
from service.realtime.wire import Wire


class Socket(Protocol):
    """What a subscription uses of its socket."""

    @property
    def user_id(self) -> int: ...
    @property
    def queue_size(self) -> int: ...
    def send_encoded(self, wire: Wire) -> None: ...
    def close(self, code: int, reason: str = "") -> None: ...


S = TypeVar("S", bound=Socket)


class Subscription(Generic[S]):
    __slots__ = ("conn", "room_id", "last_seq", "read_seq", "ended", "_live", "_held")

    def __init__(self, conn: S, room_id: int) -> None:
        self.conn = conn
        self.room_id = room_id
        self.last_seq = 0
        self.read_seq = -1  # the marker this socket last set: a `read` at or below it writes nothing
        self.ended = False  # unsubscribed, or the room ended for this socket: nothing more goes out
        self._live = False
        self._held: list[tuple[int, Wire]] = []  # seq 0: a presence or typing frame

    @property
    def user_id(self) -> int:
        return self.conn.user_id

    # Called by the room's feed, in seq order.
    def deliver(self, seq: int, wire: Wire) -> None:
        if self.ended:
            return
        if not self._live:
            self._hold(seq, wire)
        elif seq > self.last_seq:
            self.last_seq = seq
            self.conn.send_encoded(wire)

    def deliver_ephemeral(self, wire: Wire) -> None:
        """Presence and typing: not part of the seq stream, but kept behind the
        replay like messages, so they never arrive before `welcome`."""
        if self.ended:
            return
        if not self._live:
            self._hold(0, wire)
        else:
            self.conn.send_encoded(wire)

    def _hold(self, seq: int, wire: Wire) -> None:
        self._held.append((seq, wire))
        if len(self._held) > self.conn.queue_size:
            self.conn.close(*SLOW_CONSUMER)

    def go_live(self, last_seq: int) -> None:
        """The replay covered every seq up to `last_seq`; release what came meanwhile."""
        self.last_seq = max(self.last_seq, last_seq)
        self._live = True
        held, self._held = self._held, []
        for seq, wire in held:
            if seq == 0:
                self.deliver_ephemeral(wire)
            else:
                self.deliver(seq, wire)

    def end(self) -> None:
        self.ended = True
        self._held = []
