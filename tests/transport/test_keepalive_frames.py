"""Pongs, the bulk of what idle sockets read, skip the frame parser only when
nothing else could be in the read: every other frame reaches the app whole."""

from __future__ import annotations

import asyncio
import os

from tests.transport.sansio import masked, open_socket

TEXT, PONG = 0x1, 0xA


async def _text(received: asyncio.Queue[dict[str, object]]) -> object:
    message = await asyncio.wait_for(received.get(), 5)
    assert message["type"] == "websocket.receive"
    return message["text"]


async def test_a_payload_that_looks_like_a_pong_reaches_the_app_whole() -> None:
    protocol, _, received = await open_socket()
    body = b'{"a":"bc"}'
    # A mask under which the ten bytes of payload read as a masked pong of four bytes.
    mask = bytes([body[0] ^ 0x8A, body[1] ^ 0x84]) + os.urandom(2)
    frame = masked(TEXT, body, mask)
    assert frame[6:8] == b"\x8a\x84" and len(frame) == 16

    protocol.data_received(frame[:6])  # header and mask: the parser waits for the payload
    protocol.data_received(frame[6:])
    assert await _text(received) == body.decode()


async def test_a_pong_in_the_same_read_as_a_frame_is_parsed_with_it() -> None:
    protocol, _, received = await open_socket()
    protocol.data_received(masked(PONG, b"") + masked(TEXT, b"after the pong"))
    protocol.data_received(masked(PONG, b"1234") + masked(TEXT, b"and again"))
    assert [await _text(received), await _text(received)] == ["after the pong", "and again"]
