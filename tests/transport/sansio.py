"""ChatWebSocketProtocol on a transport that records its writes: the protocol's
reads and writes byte by byte, with no network in between."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from service.transport.websocket import ChatWebSocketProtocol

UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)

AfterAccept = Callable[[dict[str, Any], Any, "Transport"], Awaitable[None]]


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_write_buffer_size(self) -> int:
        return 0  # every write is recorded at once

    def pause_reading(self) -> None:
        pass  # the tests feed reads themselves

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8000) if name in ("sockname", "peername") else default


async def open_socket(
    after_accept: AfterAccept | None = None, **options: Any
) -> tuple[ChatWebSocketProtocol, Transport, asyncio.Queue[dict[str, Any]]]:
    """An accepted socket, and what its app receives after the accept."""
    accepted = asyncio.Event()
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        if after_accept is not None:
            await after_accept(scope, send, transport)
        accepted.set()
        while (message := await receive())["type"] != "websocket.disconnect":
            received.put_nowait(message)

    options = {"ws_per_message_deflate": False, "ws_ping_interval": None, **options}
    config = Config(app=app, ws=ChatWebSocketProtocol, lifespan="off", **options)
    config.load()
    protocol = ChatWebSocketProtocol(config, ServerState(), {})
    transport = Transport()
    protocol.connection_made(transport)
    protocol.data_received(UPGRADE)
    await asyncio.wait_for(accepted.wait(), 5)
    return protocol, transport, received


def masked(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """A client's frame (payload under 126 bytes)."""
    mask = os.urandom(4) if mask is None else mask
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
