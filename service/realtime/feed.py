"""One room's feed on this instance: its subscriptions, in strict seq order.

The stream's entries (messages, edits, deletes) arrive through the broker
(fanout.py; in-process, within the writer's publish) and may come early, late,
twice or never. The feed delivers each seq once, in order: an early arrival
waits for the seqs before it, and a seq that does not come in time (lost by the
broker, or its publisher died after commit) is read from the database, the
source of truth.

While it is open the feed also keeps what a socket joining the room needs, so a
reconnect need not ask the database: what was read of the room's access
(room_access.py), and the newest entries of the stream as they were delivered (`recent`)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import orjson

from service.messages.entries import StreamEvent
from service.messages.stream_frames import is_message_frame, stream_frame
from service.metrics import Metrics
from service.realtime.connection import Connection
from service.realtime.room_access import KnownAccess
from service.realtime.subscription import Subscription
from service.realtime.wire import Wire

log = logging.getLogger("service.realtime")

# How long a feed waits for a missing seq before reading it from the database.
GAP_WAIT_SECONDS = 0.25
CATCH_UP_BATCH = 500
# Entries kept for replays: to sockets that reconnect having missed a few, and the
# newest CHAT_HISTORY_ON_CONNECT (50 by default) to sockets connecting afresh.
RECENT_ENTRIES = 64
# How every message frame begins, a reply's too (stream_frames.py encodes it so).
_MESSAGE_START = '{"type":"message",'

# (room id, after seq, up to seq or None, limit) -> the room's stream, in seq order
ReadStored = Callable[[int, int, int | None, int], Awaitable[Sequence[StreamEvent]]]


class RoomFeed:
    def __init__(self, room_id: int, read_stored: ReadStored, metrics: Metrics) -> None:
        self.room_id = room_id
        self.subscriptions: set[Subscription[Connection]] = set()
        self.last_seq = 0
        self.positioned = False  # last_seq read from the database
        self.opening: asyncio.Future[None] | None = None  # the broker's subscribe and first read (feeds.py)
        self.users: dict[int, int] = {}  # user_id -> subscriptions here
        self.typing_at: dict[int, float] = {}  # user_id -> when their last typing notice went out
        self.closed = False
        self.access = KnownAccess()
        # Consecutive seqs, each with its encoded forms: a replay writes the bytes
        # the live fan-out made, made once for every socket that joins.
        self._recent: deque[tuple[int, Wire]] = deque(maxlen=RECENT_ENTRIES)
        self._early: dict[int, str] = {}
        self._gap_task: asyncio.Task[None] | None = None
        self._read_stored = read_stored
        self._metrics = metrics

    def add(self, sub: Subscription[Connection]) -> bool:
        """True when this is the user's first subscription here."""
        self.subscriptions.add(sub)
        count = self.users[sub.user_id] = self.users.get(sub.user_id, 0) + 1
        return count == 1

    def remove(self, sub: Subscription[Connection]) -> bool:
        """True when it was the user's last subscription here."""
        if sub not in self.subscriptions:
            return False
        self.subscriptions.discard(sub)
        if self.users[sub.user_id] > 1:
            self.users[sub.user_id] -= 1
            return False
        del self.users[sub.user_id]
        self.typing_at.pop(sub.user_id, None)
        return True

    def recent(self, after: int, upto: int) -> list[str] | None:
        """The frames of seqs after..upto as delivered here, if all are still kept."""
        kept = self.kept(after, upto)
        return None if kept is None else [wire.text for wire in kept]

    def kept(self, after: int, upto: int) -> list[Wire] | None:
        """`recent`, as the frames went out."""
        if after >= upto:
            return []
        if not self._recent or self._recent[0][0] > after + 1 or self._recent[-1][0] < upto:
            return None
        return [wire for seq, wire in self._recent if after < seq <= upto]

    def start_of_newest(self, count: int) -> int | None:
        """The seq just before the `count`-th newest message up to the feed's
        position, if every entry after it is kept: where `read_newest`
        (stream_reads.py) would start reading."""
        if count <= 0 or self.last_seq == 0:
            return self.last_seq
        recent = self._recent
        if not recent or recent[-1][0] != self.last_seq:
            return None
        for seq, wire in reversed(recent):
            if wire.text.startswith(_MESSAGE_START):
                count -= 1
                if count == 0:
                    return seq - 1
        # Fewer messages than asked for: all of them, if the whole stream is kept.
        return 0 if recent[0][0] == 1 else None

    def close(self) -> None:
        self.closed = True
        if self._gap_task is not None:
            self._gap_task.cancel()

    def position(self, last_seq: int, newest: Sequence[tuple[int, str]] = ()) -> None:
        """Start after `last_seq`, with the `newest` entries up to it (seq, frame) as
        read then; what arrived while they were read waits in `early`."""
        self.last_seq = last_seq
        self.positioned = True
        if newest and newest[-1][0] == last_seq and newest[-1][0] - newest[0][0] == len(newest) - 1:
            self._recent.extend((seq, Wire(frame, self.room_id)) for seq, frame in newest)
        self._drain_early()

    def offer(self, seq: int, frame: str) -> None:
        """A published message, in whatever order the broker brings it."""
        if seq <= self.last_seq:
            return
        if not self.positioned or seq > self.last_seq + 1:
            self._early[seq] = frame
            if self.positioned:
                self._wait_for_gap()
            return
        self._deliver(seq, frame)
        self._drain_early()

    def deliver_ephemeral(self, frame: str, exclude_user: int | None) -> None:
        wire = Wire(frame, self.room_id)
        for sub in tuple(self.subscriptions):
            if sub.user_id != exclude_user:
                sub.deliver_ephemeral(wire)

    def _deliver(self, seq: int, frame: str) -> None:
        self.last_seq = seq
        if not is_message_frame(frame):
            self._forget_changed(frame)
        wire = Wire(frame, self.room_id)
        self._recent.append((seq, wire))
        for sub in tuple(self.subscriptions):
            sub.deliver(seq, wire)
        self._metrics.frames_delivered.inc(len(self.subscriptions))

    def _forget_changed(self, frame: str) -> None:
        """An entry that changes an earlier message, as a replay from the database
        would show it: the kept entries from that message back are forgotten (the
        rest stay consecutive), all of them when it is a delete (the edits of the
        deleted message lose their bodies too) or not known here."""
        data = orjson.loads(frame)
        kind = data.get("type")
        changed = data.get("thread_seq") if kind == "message" else data.get("target_seq")
        if kind not in ("message", "edit", "reaction", "pin") or not isinstance(changed, int):
            self._recent.clear()
            return
        while self._recent and self._recent[0][0] <= changed:
            self._recent.popleft()

    def _drain_early(self) -> None:
        for stale in [s for s in self._early if s <= self.last_seq]:
            del self._early[stale]
        while (frame := self._early.pop(self.last_seq + 1, None)) is not None:
            self._deliver(self.last_seq + 1, frame)
        if self._early:
            self._wait_for_gap()
        elif self._gap_task is not None and self._gap_task is not asyncio.current_task():
            self._gap_task.cancel()
            self._gap_task = None

    def _wait_for_gap(self) -> None:
        if self._gap_task is None and not self.closed:
            self._gap_task = asyncio.create_task(self._fill_gap())

    async def _fill_gap(self) -> None:
        try:
            while self._early and not self.closed:
                await asyncio.sleep(GAP_WAIT_SECONDS)
                if self._early:
                    # Seqs are assigned under the room's row lock, so everything below
                    # a seq we already hold has committed and can be read.
                    await self.catch_up(before=min(self._early))
        except Exception:
            log.exception("filling a gap in room %s failed", self.room_id)
        finally:
            if self._gap_task is asyncio.current_task():
                self._gap_task = None

    async def catch_up(self, before: int | None = None) -> None:
        """Deliver from the database, in order, the seqs after the feed's position."""
        while not self.closed:
            upto = None if before is None else before - 1
            rows = await self._read_stored(self.room_id, self.last_seq, upto, CATCH_UP_BATCH)
            for event in rows:
                if event.seq == self.last_seq + 1:
                    self._deliver(event.seq, stream_frame(event))
            self._drain_early()
            if len(rows) < CATCH_UP_BATCH:
                return
