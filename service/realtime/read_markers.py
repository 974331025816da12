"""A `read` frame: the user's marker moves (markers/service.py; with `thread`, their
marker in that thread, markers/threads.py), and their other multiplexed sockets,
on every instance, are told with a `read` frame.

A marker only moves forward, and at most to the last seq this socket received: so
every write is paid for by a frame the socket was sent, and a client repeating
`read` costs no database write."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.control import ControlPublisher, ReadMoved
from service.markers.service import mark_read
from service.markers.threads import follows_thread, mark_thread_read
from service.realtime.connection import Connection
from service.realtime.protocol import Read
from service.realtime.subscription import Subscription

# Threads whose last `read` is remembered, the least recently read forgotten first.
THREAD_READS_KEPT = 10_000


class ThreadReads:
    """For each (user, room, thread) read lately by a follower, the highest seq a
    `read` frame asked for. Below the seq a socket received, a thread's newest reply
    is settled (later replies come after it), so that `read` moved the follower's
    marker as far as any lower one would: asking again writes nothing. A user who
    does not follow is not remembered, since following later may start their
    marker below it. Forgetting only costs a write."""

    def __init__(self, kept: int = THREAD_READS_KEPT) -> None:
        self._kept = kept
        self._asked: OrderedDict[tuple[int, int, int], int] = OrderedDict()

    def asked(self, key: tuple[int, int, int], seq: int) -> bool:
        """Whether a `read` of the thread at `seq` or above was made already."""
        if self._asked.get(key, -1) < seq:
            return False
        self._asked.move_to_end(key)
        return True

    def remember(self, key: tuple[int, int, int], seq: int) -> None:
        self._asked[key] = max(seq, self._asked.get(key, -1))
        self._asked.move_to_end(key)
        if len(self._asked) > self._kept:
            self._asked.popitem(last=False)


@dataclass(frozen=True, slots=True)
class ReadMarkers:
    writes: async_sessionmaker[AsyncSession]
    control: ControlPublisher
    thread_reads: ThreadReads = field(default_factory=ThreadReads)


async def read(markers: ReadMarkers, sub: Subscription[Connection], frame: Read) -> None:
    seq = min(frame.seq, sub.last_seq)
    if frame.thread is not None:
        await _read_thread(markers, sub, frame.thread, seq)
        return
    if seq <= sub.read_seq:
        return
    sub.read_seq = seq
    async with markers.writes() as session:
        moved = await mark_read(session, sub.room_id, sub.user_id, seq)
        await session.commit()
    if moved is not None:
        await markers.control.publish(ReadMoved(sub.user_id, sub.room_id, moved, sub.conn.origin))


async def _read_thread(markers: ReadMarkers, sub: Subscription[Connection], thread: int, seq: int) -> None:
    """A thread this socket has not received the root of has nothing it could have read."""
    key = (sub.user_id, sub.room_id, thread)
    if thread > sub.last_seq or markers.thread_reads.asked(key, seq):
        return
    async with markers.writes() as session:
        moved = await mark_thread_read(session, sub.room_id, sub.user_id, thread, seq)
        follows = moved is not None or await follows_thread(session, sub.room_id, sub.user_id, thread)
        await session.commit()
    if follows:
        markers.thread_reads.remember(key, seq)
    if moved is not None:
        event = ReadMoved(sub.user_id, sub.room_id, moved, sub.conn.origin, thread=thread)
        await markers.control.publish(event)
