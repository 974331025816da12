"""One room on one socket, alone (no server, no database): what the subscription
lets through to its connection, for any interleaving of the feed's entries,
presence frames, the end of the replay (`go_live`) and the end of the room.

The connection is a recorder. The replay itself goes out through the socket's
queue, not through the subscription; `go_live(last)` says it covered every seq
up to `last`."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from service.realtime.closes import SLOW_CONSUMER
from service.realtime.subscription import Subscription
from service.realtime.wire import Wire

ROOM = 7


@dataclass
class Conn:
    queue_size: int
    user_id: int = 1
    offered: list[str] = field(default_factory=list)
    closes: list[tuple[int, str]] = field(default_factory=list)

    def send_encoded(self, wire: Wire) -> None:
        self.offered.append(wire.text)

    def close(self, code: int, reason: str = "") -> None:
        self.closes.append((code, reason))


def seq_wire(seq: int) -> Wire:
    return Wire(f"seq {seq}", ROOM)


def seqs_of(offered: list[str]) -> list[int]:
    return [int(text.split()[1]) for text in offered if text.startswith("seq ")]


def run(conn: Conn, ops: list[tuple[str, int]]) -> tuple[Subscription, list[str], int | None, int]:
    """Apply the steps; (the subscription, what arrived in order before the end,
    the replay's last seq if it went live, frames held before it did or ended)."""
    sub = Subscription(conn, ROOM)  # Conn has what a Subscription uses of a Connection
    arrived: list[str] = []  # what reached the subscription before it ended
    live_at: int | None = None
    ended = False
    held = 0
    presence = 0
    for op, arg in ops:
        if op == "entry":
            if not ended:
                arrived.append(f"seq {arg}")
                held += live_at is None
            sub.deliver(arg, seq_wire(arg))
        elif op == "presence":
            presence += 1
            if not ended:
                arrived.append(f"presence {presence}")
                held += live_at is None
            sub.deliver_ephemeral(Wire(f"presence {presence}", ROOM))
        elif op == "live" and live_at is None and not ended:
            live_at = arg
            sub.go_live(arg)
        elif op == "end":
            ended = True
            sub.end()
    return sub, arrived, live_at, held


def check_common(conn: Conn, arrived: list[str], live_at: int | None, held: int) -> None:
    if live_at is None:
        assert conn.offered == []  # nothing before the replay's end (presence neither)
    seqs = seqs_of(conn.offered)
    # Never a seq at or below one it already delivered, nor one the replay covered.
    assert all(a < b for a, b in zip(seqs, seqs[1:], strict=False)), seqs
    assert all(seq > (live_at or 0) for seq in seqs), (seqs, live_at)
    # Presence frames all go out once live, in their place among the entries.
    assert [t for t in conn.offered if not t.startswith("seq ")] == (
        [t for t in arrived if not t.startswith("seq ")] if live_at is not None else []
    )
    # In the order they arrived: nothing made up, nothing after the end.
    rest = iter(arrived)
    assert all(text in rest for text in conn.offered), (conn.offered, arrived)
    # Holding more than the queue takes is a slow consumer.
    assert bool(conn.closes) == (held > conn.queue_size) and set(conn.closes) <= {SLOW_CONSUMER}


# Any order the feed could be wrong in: repeats, going back, jumps (seqs start at 1).
anything = st.one_of(
    st.tuples(st.just("entry"), st.integers(1, 20)),
    st.tuples(st.just("entry"), st.integers(1, 20)),
    st.tuples(st.just("presence"), st.just(0)),
    st.tuples(st.just("live"), st.integers(0, 20)),
    st.tuples(st.just("end"), st.just(0)),
)


@settings(max_examples=300, deadline=None)
@given(ops=st.lists(anything, max_size=40), queue_size=st.integers(1, 8))
def test_never_a_seq_at_or_below_one_delivered_whatever_comes(ops: list[tuple[str, int]], queue_size: int) -> None:
    conn = Conn(queue_size)
    _, arrived, live_at, held = run(conn, ops)
    check_common(conn, arrived, live_at, held)
    # Exactly what a running maximum lets through: no entry above it is dropped.
    expected, top = [], live_at or 0
    for text in arrived if live_at is not None else []:
        if text.startswith("seq ") and (seq := int(text.split()[1])) > top:
            expected.append(seq)
            top = seq
    assert seqs_of(conn.offered) == expected


@st.composite
def from_a_feed(draw: st.DrawFn) -> tuple[int, int, list[tuple[str, int]]]:
    """What a feed really does: its seqs in order from where it stood when the
    subscription joined; the replay ends at or after that (the database may be
    ahead of the feed), and the room may end."""
    joined_at = draw(st.integers(0, 5))
    last = joined_at + draw(st.integers(0, 6))
    ops: list[tuple[str, int]] = []
    seq = joined_at
    for kind in draw(st.lists(st.sampled_from(["entry", "entry", "entry", "presence", "end"]), max_size=30)):
        if kind == "entry":
            seq += 1
        ops.append((kind, seq))
    ops.insert(draw(st.integers(0, len(ops))), ("live", last))
    return joined_at, last, ops


@settings(max_examples=300, deadline=None)
@given(case=from_a_feed(), queue_size=st.integers(1, 8))
def test_replay_then_live_has_no_gap_and_no_repeat(
    case: tuple[int, int, list[tuple[str, int]]], queue_size: int
) -> None:
    joined_at, last, ops = case
    conn = Conn(queue_size)
    sub, arrived, live_at, held = run(conn, ops)
    check_common(conn, arrived, live_at, held)
    fed = seqs_of(arrived)
    if live_at is not None:
        # The replay covered joined_at..last; live goes on from last + 1, every seq the feed gave.
        assert seqs_of(conn.offered) == [seq for seq in fed if seq > last]
        assert sub.last_seq == max([last, *fed])
