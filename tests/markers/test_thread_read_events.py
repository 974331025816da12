"""a thread's marker moved is told to every instance with its
`thread`; a socket repeating a thread's `read` costs no write."""

from __future__ import annotations

from service.control import ReadMoved
from service.realtime.envelope import decode_control, encode_control
from service.realtime.read_markers import ThreadReads


def test_a_thread_marker_event_crosses_the_broker_with_its_thread() -> None:
    for event in (ReadMoved(1, 2, 3), ReadMoved(1, 2, 3, "o", thread=9)):
        assert decode_control(encode_control(event)) == event
    # What an instance without `thread` sends still reads as a room's marker.
    assert decode_control(b'{"kind":"read_moved","user_id":1,"room_id":2,"seq":3,"origin":null}') == ReadMoved(1, 2, 3)


def test_a_threads_read_at_or_below_one_made_before_is_skipped() -> None:
    reads = ThreadReads(kept=2)
    one, two, three = (1, 1, 1), (1, 1, 2), (2, 1, 1)
    assert not reads.asked(one, 5)
    reads.remember(one, 5)
    assert reads.asked(one, 5) and reads.asked(one, 0) and not reads.asked(one, 6)
    assert not reads.asked(two, 5) and not reads.asked(three, 1)  # per user and thread
    reads.remember(one, 3)  # never back
    assert reads.asked(one, 5)
    reads.remember(two, 1)
    reads.remember(three, 1)  # over `kept`: the least recently asked goes
    assert not reads.asked(one, 5) and reads.asked(two, 1) and reads.asked(three, 1)
