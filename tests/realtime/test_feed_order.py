"""A room's feed alone (no server, no database): whatever order, repeats and losses
the broker brings, each subscription gets every seq after the feed's start once,
in order, with no gap, and `recent` never answers with anything else.

The database is a list of committed entries, read through `read_stored` as the
feed reads it; each read is held until the scenario lets it finish, so live
entries can arrive while a catch-up read is on its way."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.messages.entries import StoredDelete, StoredEdit, StoredMessage, StreamEvent
from service.messages.stream_frames import stream_frame
from service.metrics import Metrics
from service.realtime import feed as feed_module
from service.realtime.feed import RoomFeed
from service.realtime.wire import Wire

ROOM = 7
AT = datetime(2025, 1, 1, tzinfo=UTC)


def entry(seq: int, kind: str) -> StreamEvent:
    if kind == "message" or seq == 1:
        return StoredMessage(seq, ROOM, seq, 1, "alice", f"m{seq}", None, AT)
    if kind == "edit":
        return StoredEdit(ROOM, seq, seq - 1, 1, "alice", f"edited at {seq}", AT)
    return StoredDelete(ROOM, seq, seq - 1, 1, "alice")


class Store:
    """Committed entries 1..n, commits in seq order (seqs are assigned under the room's lock)."""

    def __init__(self) -> None:
        self.entries: list[StreamEvent] = []
        self.held: list[asyncio.Future[None]] = []
        self.hold_reads = True

    def frame(self, seq: int) -> str:
        return stream_frame(self.entries[seq - 1])

    @staticmethod
    def release(gate: asyncio.Future[None]) -> None:
        if not gate.done():  # else the read was cancelled (a gap filler no longer needed)
            gate.set_result(None)

    async def read_stored(self, room_id: int, after: int, upto: int | None, limit: int) -> list[StreamEvent]:
        assert room_id == ROOM
        rows = [e for e in self.entries if e.seq > after and (upto is None or e.seq <= upto)][:limit]
        # What was committed when the query ran; the answer comes back later.
        if self.hold_reads:
            gate = asyncio.get_running_loop().create_future()
            self.held.append(gate)
            await gate
        else:
            await asyncio.sleep(0)
        return rows


@dataclass(eq=False)
class Recorder:
    """A subscription that keeps what the feed gives it."""

    first: int  # the seq it should get first
    user_id: int = 1
    seqs: list[int] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)

    def deliver(self, seq: int, wire: Wire) -> None:
        self.seqs.append(seq)
        self.frames.append(wire.text)

    def deliver_ephemeral(self, wire: Wire) -> None:
        raise AssertionError("no ephemeral frames here")


def check(feed: RoomFeed, store: Store, subs: list[Recorder]) -> None:
    for sub in subs:
        # From where it joined, every seq once, in order: no gap, no repeat.
        assert sub.seqs == list(range(sub.first, sub.first + len(sub.seqs)))
        assert sub.frames == [store.frame(seq) for seq in sub.seqs]
        if sub.seqs:
            assert sub.seqs[-1] == feed.last_seq
    last = feed.last_seq
    for after in range(last + 1):
        for upto in range(after, last + 1):
            kept = feed.recent(after, upto)
            assert kept is None or kept == [store.frame(seq) for seq in range(after + 1, upto + 1)], (after, upto)


kinds = st.sampled_from(["message", "message", "message", "edit", "delete"])
index = st.integers(0, 50)
commit, arrive = st.tuples(st.just("commit"), kinds), st.tuples(st.just("arrive"), index)
steps = st.one_of(
    commit,
    commit,
    commit,
    arrive,  # one of the publishes on their way, whichever
    arrive,
    arrive,
    st.tuples(st.just("again"), index),  # one that arrived, once more
    st.tuples(st.just("lose"), index),  # one on its way, never to arrive
    st.tuples(st.just("tick"), st.integers(1, 3)),
    st.tuples(st.just("release"), index),  # one held read (of any in flight) answers
    st.tuples(st.just("sweep"), st.just(0)),  # the loss sweep: catch_up() beside the gap filler
    st.tuples(st.just("join"), st.just(0)),
)


async def scenario(ops: list[tuple[str, object]], position_at: int, behind: int, newest: int) -> None:
    store = Store()
    feed = RoomFeed(ROOM, store.read_stored, Metrics())
    subs = [Recorder(first=-1)]  # `first` is known once the feed is positioned
    feed.add(subs[0])
    on_the_way: list[int] = []  # published, not arrived yet
    arrived: list[int] = []
    sweeps: list[asyncio.Task[None]] = []
    start: int | None = None
    for n, (op, arg) in enumerate([*ops, ("position", 0)]):
        assert isinstance(arg, int | str)
        if (n >= position_at or op == "position") and start is None:
            # The start read: the newest entries up to a seq committed by then, maybe
            # a few before the newest (committed while the read was on its way).
            start = max(0, len(store.entries) - behind)
            kept = range(max(1, start - newest + 1), start + 1)
            feed.position(start, [(seq, store.frame(seq)) for seq in kept])
            for sub in subs:
                if sub.first == -1:
                    sub.first = start + 1
        if op == "commit":
            seq = len(store.entries) + 1
            store.entries.append(entry(seq, str(arg)))
            on_the_way.append(seq)
        elif op in ("arrive", "lose") and on_the_way:
            seq = on_the_way.pop(int(arg) % len(on_the_way))
            if op == "arrive":
                feed.offer(seq, store.frame(seq))
                arrived.append(seq)
        elif op == "again" and arrived:
            seq = arrived[int(arg) % len(arrived)]
            feed.offer(seq, store.frame(seq))
        elif op == "tick":
            for _ in range(int(arg)):
                await asyncio.sleep(0)
        elif op == "release" and store.held:
            store.release(store.held.pop(int(arg) % len(store.held)))
        elif op == "sweep" and feed.positioned:
            sweeps.append(asyncio.create_task(feed.catch_up()))
        elif op == "join":
            sub = Recorder(first=feed.last_seq + 1 if feed.positioned else -1)
            feed.add(sub)
            subs.append(sub)
        check(feed, store, [s for s in subs if s.first != -1])

    # Everything answers now; the sweep's last pass brings an entry lost with nothing after it.
    assert start is not None
    store.hold_reads = False
    for _ in range(1000):
        if asyncio.all_tasks() == {asyncio.current_task()}:  # the gap filler and sweeps are done
            break
        while store.held:
            store.release(store.held.pop())
        await asyncio.sleep(0)
    else:
        raise AssertionError("the feed's reads never settled")
    await feed.catch_up()
    check(feed, store, subs)
    assert feed.last_seq == len(store.entries)
    assert subs[0].seqs == list(range(start + 1, len(store.entries) + 1))
    feed.close()
    for task in sweeps:
        task.result()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(steps, min_size=20, max_size=100),
    position_at=st.integers(0, 30),
    behind=st.integers(0, 5),
    newest=st.integers(0, 4),
    batch=st.integers(1, 4),
)
def test_every_seq_once_in_order_whatever_the_broker_does(
    ops: list[tuple[str, object]], position_at: int, behind: int, newest: int, batch: int
) -> None:
    # No waiting before a gap is read; catch-up reads of a few rows, so reads page.
    with mock.patch.object(feed_module, "GAP_WAIT_SECONDS", 0), mock.patch.object(feed_module, "CATCH_UP_BATCH", batch):
        asyncio.run(scenario(ops, position_at, behind, newest))
