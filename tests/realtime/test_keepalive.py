"""The server pings every socket each CHAT_WS_PING_SECONDS and closes 1011 one that
sends nothing before the next ping; one that answers, with a pong or any frame,
stays open."""

from __future__ import annotations

import asyncio
import struct

from tests.realtime.conftest import ServerFactory
from tests.transport.sansio import masked

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


async def raw_socket(port: int, room_id: int, token: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"GET /ws/rooms/{room_id}?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    return reader, writer


async def next_control_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The next ping or close frame from the server (unmasked), skipping data frames."""
    async with asyncio.timeout(10):
        while True:
            head = await reader.readexactly(2)
            size = head[1] & 0x7F
            if size == 126:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", await reader.readexactly(8))[0]
            payload = await reader.readexactly(size)
            if head[0] & 0x0F in (PING, CLOSE):
                return head[0] & 0x0F, payload


async def test_a_socket_that_answers_pings_stays_and_one_that_does_not_closes_1011(
    make_server: ServerFactory,
) -> None:
    server = await make_server(ws_ping_seconds=1)
    _, token = await server.user("alice")
    room = await server.room(token, "lobby")
    answering = await raw_socket(server.port, room["id"], token)
    chatting = await raw_socket(server.port, room["id"], token)  # answers with frames, no pongs
    silent = await raw_socket(server.port, room["id"], token)

    for _ in range(3):  # three pings, each answered: no close in between
        opcode, payload = await next_control_frame(answering[0])
        assert opcode == PING
        answering[1].write(masked(PONG, payload))
        assert (await next_control_frame(chatting[0]))[0] == PING
        chatting[1].write(masked(TEXT, b'{"type":"ping"}'))

    assert (await next_control_frame(silent[0]))[0] == PING
    opcode, payload = await next_control_frame(silent[0])
    assert opcode == CLOSE
    assert struct.unpack("!H", payload[:2])[0] == 1011 and payload[2:] == b"keepalive ping timeout"
    for _, writer in (answering, chatting, silent):
        writer.close()
