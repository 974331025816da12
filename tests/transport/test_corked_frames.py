"""chat.write takes frames for the end of the event loop's turn: they go out in one
write, and before anything the protocol writes after them (an ASGI send, a close)."""

from __future__ import annotations

from typing import Any

from websockets.frames import Close, Frame, Opcode

from service.transport.websocket import SHUTDOWN, WRITE, ChatWebSocketProtocol, encode_frame
from tests.transport.sansio import AfterAccept, Transport, open_socket


async def _open(after_accept: AfterAccept) -> tuple[ChatWebSocketProtocol, Transport]:
    protocol, transport, _ = await open_socket(after_accept)
    return protocol, transport


def _frames_after_handshake(transport: Transport) -> list[bytes]:
    assert transport.writes[0].startswith(b"HTTP/1.1 101")
    return transport.writes[1:]


async def test_frames_of_one_turn_go_in_one_write_at_its_end() -> None:
    written: list[bytes] = []

    async def take_two(scope: dict, send: Any, transport: Transport) -> None:
        write = scope["extensions"][WRITE]["write"]
        assert write(encode_frame("one")) and write(encode_frame("two"))
        written.extend(transport.writes[1:])  # nothing yet: the turn is not over

    _, transport = await _open(take_two)
    assert written == []
    assert _frames_after_handshake(transport) == [encode_frame("one") + encode_frame("two")]


async def test_an_asgi_send_in_the_same_turn_goes_after_the_frames_taken() -> None:
    async def take_then_send(scope: dict, send: Any, transport: Transport) -> None:
        scope["extensions"][WRITE]["write"](encode_frame("taken"))
        await send({"type": "websocket.send", "text": "sent"})

    _, transport = await _open(take_then_send)
    assert _frames_after_handshake(transport)[:2] == [encode_frame("taken"), encode_frame("sent")]


async def test_shutdown_in_the_same_turn_closes_after_the_frames_taken() -> None:
    async def nothing(scope: dict, send: Any, transport: Transport) -> None:
        pass

    protocol, transport = await _open(nothing)
    assert protocol.write_frame(encode_frame("last")) and protocol.write_frame(encode_frame("very last"))
    protocol.shutdown()  # 1012, as on SIGTERM
    frames = _frames_after_handshake(transport)
    assert frames[0] == encode_frame("last") + encode_frame("very last")
    close = Frame(Opcode.CLOSE, Close(*SHUTDOWN).serialize()).serialize(mask=False)
    assert frames[1] == close
