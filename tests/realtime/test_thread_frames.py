"""a message frame may name its thread (`thread_seq`), a read frame a thread's marker (`thread`)."""

from __future__ import annotations

import orjson
import pytest

from service.realtime.protocol import FrameError, Read, SendMessage, parse_client_frame

MAX_CHARS = 50


def _parse(frame: dict[str, object], *, multiplexed: bool = False) -> object:
    return parse_client_frame(orjson.dumps(frame).decode(), MAX_CHARS, multiplexed=multiplexed)


def test_a_message_frame_names_its_thread_by_the_roots_seq() -> None:
    assert _parse({"type": "message", "body": "hi", "thread_seq": 7}) == SendMessage("hi", None, thread_seq=7)
    assert _parse({"type": "message", "body": "hi", "thread_seq": None}) == SendMessage("hi", None)
    mux = _parse({"type": "message", "body": "hi", "room": 3, "thread_seq": 2, "ref": "r"}, multiplexed=True)
    assert mux == SendMessage("hi", None, room=3, ref="r", thread_seq=2)


@pytest.mark.parametrize("thread_seq", [0, -1, "7", 7.0, True, [7], 2**63])
def test_a_thread_seq_that_is_no_seq_is_an_invalid_frame(thread_seq: object) -> None:
    with pytest.raises(FrameError) as refused:
        _parse({"type": "message", "body": "hi", "client_msg_id": "c1", "thread_seq": thread_seq})
    assert refused.value.code == "invalid_frame" and refused.value.client_msg_id == "c1"


def test_a_read_frame_names_a_threads_marker_by_its_roots_seq() -> None:
    assert _parse({"type": "read", "seq": 9, "thread": 4}) == Read(9, thread=4)
    assert _parse({"type": "read", "seq": 9}) == Read(9)
    assert _parse({"type": "read", "seq": 9, "room": 5, "thread": 4}, multiplexed=True) == Read(9, room=5, thread=4)


@pytest.mark.parametrize("thread", [0, "4", 4.0, False, {}])
def test_a_thread_that_is_no_seq_is_an_invalid_read_frame(thread: object) -> None:
    with pytest.raises(FrameError) as refused:
        _parse({"type": "read", "seq": 9, "room": 5, "thread": thread}, multiplexed=True)
    assert refused.value.code == "invalid_frame" and refused.value.extra == {"room": 5}
