"""Clients that stop reading: raw TCP sockets with a small receive buffer, so the
server's buffers fill at once, and what they received once they read again."""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass, field

TIMEOUT = 10.0
CLOSE = 0x8
# tcpi_state, the first byte of struct tcp_info (Linux)
TCP_ESTABLISHED = 1


def _socket() -> socket.socket:
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    return raw


async def send_request(port: int, request: str) -> socket.socket:
    """A connection that sent `request` and reads nothing of the answer."""
    loop = asyncio.get_running_loop()
    raw = _socket()
    await loop.sock_connect(raw, ("127.0.0.1", port))
    await loop.sock_sendall(raw, request.encode())
    return raw


def tcp_state(raw: socket.socket) -> int:
    return raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


@dataclass
class UnreadSocket:
    """A WebSocket past its handshake that reads nothing until `read_to_close`."""

    raw: socket.socket
    data: bytearray = field(default_factory=bytearray)

    @classmethod
    async def open(cls, port: int, path: str) -> UnreadSocket:
        raw = await send_request(
            port,
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        socket_ = cls(raw)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(TIMEOUT):
            while b"\r\n\r\n" not in socket_.data:
                socket_.data += await loop.sock_recv(raw, 1)  # no byte past the response's head
        assert socket_.data.startswith(b"HTTP/1.1 101"), bytes(socket_.data)
        socket_.data.clear()
        return socket_

    async def read_to_close(self, timeout: float = TIMEOUT) -> tuple[list[bytes], tuple[int, str]]:
        """Read again: the frames' payloads up to the server's close frame, and its
        (code, reason)."""
        loop = asyncio.get_running_loop()
        payloads: list[bytes] = []
        async with asyncio.timeout(timeout):
            while True:
                frame = self._next_frame()
                if frame is None:
                    chunk = await loop.sock_recv(self.raw, 1 << 20)
                    assert chunk, "the connection ended without a close frame"
                    self.data += chunk
                    continue
                opcode, payload = frame
                if opcode == CLOSE:
                    return payloads, (struct.unpack("!H", payload[:2])[0], payload[2:].decode())
                payloads.append(payload)

    def _next_frame(self) -> tuple[int, bytes] | None:
        data = self.data
        if len(data) < 2:
            return None
        length, start = data[1] & 0x7F, 2
        if length >= 126:
            start += 2 if length == 126 else 8
            if len(data) < start:
                return None
            length = int.from_bytes(data[2:start])
        if len(data) < start + length:
            return None
        opcode, payload = data[0] & 0x0F, bytes(data[start : start + length])
        del data[: start + length]
        return opcode, payload

    def close(self) -> None:
        self.raw.close()
