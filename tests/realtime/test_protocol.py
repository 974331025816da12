from __future__ import annotations

import json

import msgpack
import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from service.messages.blank import is_blank
from service.realtime.protocol import (
    FrameError,
    Ping,
    SendMessage,
    Typing,
    parse_client_frame,
    parse_msgpack_frame,
)
from service.realtime.server_frames import error_frame
from tests.blanks import INVISIBLE

MAX_CHARS = 50

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
frame_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["message", "ping", "typing", "", "MESSAGE"]) | json_values,
        "body": st.text(max_size=80) | json_values,
        "client_msg_id": st.text(max_size=70) | json_values,
    },
)


def _check(text: str | bytes) -> None:
    try:
        if isinstance(text, bytes):
            frame = parse_msgpack_frame(text, MAX_CHARS)
        else:
            frame = parse_client_frame(text, MAX_CHARS)
    except FrameError as error:
        encoded = orjson.loads(error_frame(error))
        assert encoded["type"] == "error" and encoded["code"] in {
            "invalid_json",
            "invalid_frame",
            "empty_body",
            "body_too_long",
        }
        assert encoded["client_msg_id"] is None or isinstance(encoded["client_msg_id"], str)
        return
    assert isinstance(frame, Ping | SendMessage | Typing)
    if isinstance(frame, SendMessage):
        assert not is_blank(frame.body) and len(frame.body) <= MAX_CHARS and "\x00" not in frame.body
        assert frame.client_msg_id is None or 0 < len(frame.client_msg_id) <= 64


@pytest.mark.parametrize("body", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_a_body_of_invisible_characters_is_empty(body: str) -> None:
    frame = {"type": "message", "body": body, "client_msg_id": "c1"}
    for parse, data in (
        (parse_client_frame, orjson.dumps(frame).decode()),
        (parse_msgpack_frame, msgpack.packb(frame)),
    ):
        with pytest.raises(FrameError) as refused:
            parse(data, MAX_CHARS)
        assert refused.value.code == "empty_body" and refused.value.client_msg_id == "c1"
    assert parse_client_frame(orjson.dumps({**frame, "body": body + "x"}).decode(), MAX_CHARS) == SendMessage(
        body + "x", "c1"
    )


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_text_parses_or_is_a_frame_error(text: str) -> None:
    _check(text)


@settings(max_examples=400, deadline=None)
@given(frame_like)
def test_any_json_object_parses_or_is_a_frame_error(obj: dict) -> None:
    _check(json.dumps(obj))


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_value_parses_or_is_a_frame_error(value: object) -> None:
    _check(json.dumps(value))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_as_msgpack_or_are_a_frame_error(data: bytes) -> None:
    _check(data)


@settings(max_examples=400, deadline=None)
@given(frame_like)
def test_msgpack_and_json_parse_the_same_object_alike(obj: dict) -> None:
    try:
        encodings = (json.dumps(obj, allow_nan=False), msgpack.packb(obj))
    except (ValueError, OverflowError):
        assume(False)  # infinities have no JSON form, integers past 64 bits none in MessagePack
    outcomes = []
    for encoded in encodings:
        try:
            outcomes.append(
                parse_client_frame(encoded, MAX_CHARS)
                if isinstance(encoded, str)
                else parse_msgpack_frame(encoded, MAX_CHARS)
            )
        except FrameError as error:
            outcomes.append((error.code, error.detail, error.client_msg_id))
    assert outcomes[0] == outcomes[1]


def test_valid_message_round_trips() -> None:
    frame = parse_client_frame('{"type":"message","body":"hi","client_msg_id":"a"}', MAX_CHARS)
    assert frame == SendMessage(body="hi", client_msg_id="a")
