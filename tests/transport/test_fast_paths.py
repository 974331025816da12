"""The transport's shortcuts are taken, not only harmless: a lone pong skips the
frame parser, and a room frame for a socket that can take it goes through
chat.write rather than an ASGI send. Either silently falls back to the slow path
when uvicorn or websockets change underneath (test_private_state.py)."""

from __future__ import annotations

import asyncio

import pytest
from websockets.frames import Close, Frame, Opcode

from service.transport.keepalive import PING_FRAME
from service.transport.websocket import ChatWebSocketProtocol
from tests.realtime.conftest import ServerFactory
from tests.transport.sansio import masked, open_socket

TEXT, PONG = Opcode.TEXT.value, Opcode.PONG.value


async def test_a_lone_pong_skips_the_frame_parser_and_answers_the_ping(monkeypatch: pytest.MonkeyPatch) -> None:
    protocol, transport, received = await open_socket(ws_ping_interval=60)
    parsed: list[bytes] = []
    receive_data = protocol.conn.receive_data
    monkeypatch.setattr(protocol.conn, "receive_data", lambda data: parsed.append(data) or receive_data(data))

    for payload in (b"", b"1234", b"p" * 125):  # the shortest and the longest a lone pong can be
        protocol.keepalive_turn()
        assert transport.writes[-1] == PING_FRAME
        protocol.data_received(masked(PONG, payload))
        assert parsed == [], "a lone pong went through the frame parser"
    protocol.keepalive_turn()  # answered: pinged again, not closed
    assert transport.writes[-1] == PING_FRAME and not transport.closing

    protocol.data_received(masked(TEXT, b"parsed"))  # the spy sees what the parser gets
    assert len(parsed) == 1
    message = await asyncio.wait_for(received.get(), 5)
    assert message == {"type": "websocket.receive", "text": "parsed"}

    protocol.keepalive_turn()
    protocol.keepalive_turn()  # the text answered the first; nothing answered the second
    assert transport.writes[-1] == Frame(Opcode.CLOSE, Close(1011, "keepalive ping timeout").serialize()).serialize(
        mask=False
    )
    protocol.stop_keepalive()


async def test_room_frames_reach_an_open_socket_through_chat_write(
    make_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[bytes] = []
    write_frame = ChatWebSocketProtocol.write_frame

    def counted(self: ChatWebSocketProtocol, frame: bytes) -> bool:
        took: bool = write_frame(self, frame)
        if took:
            taken.append(frame)
        return took

    monkeypatch.setattr(ChatWebSocketProtocol, "write_frame", counted)  # before any socket opens
    server = await make_server()
    _, token = await server.user("alice")
    room = await server.room(token, "shortcut")
    client = await server.connect(room["id"], token)
    await client.handshake()
    await client.message("through chat.write")
    [message] = await client.messages(1)
    assert message["body"] == "through chat.write"
    assert any(b"through chat.write" in frame for frame in taken), "the room frame went through an ASGI send"
    await client.close()
