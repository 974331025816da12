"""The load client's Python socket: picows frames in Cython and calls back per
frame, so a delivery costs no task wake-up and no queue. Every socket the
generator opens in Python is one (the C listeners of native.py aside).

Until listen() sets a handler (during the handshake), text frames wait in a queue
for recv(); after that each one goes straight to the handler, whose answer, if
any, is sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

CLOSED = 1006  # the connection ended without a close frame


class PicowsSocket(WSListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.transport: WSTransport | None = None
        self.handler: Callable[[str], str | None] | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self._early: asyncio.Queue[str | None] = asyncio.Queue()
        self.disconnected = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.TEXT:
            text = frame.get_payload_as_utf8_text()
            if self.handler is None:
                self._early.put_nowait(text)
            elif (reply := self.handler(text)) is not None:
                transport.send(WSMsgType.TEXT, reply.encode())
        elif kind == WSMsgType.CLOSE:
            code = frame.get_close_code()
            self.close_code = int(code) if code is not None else 1005
            self.close_reason = frame.get_close_message().decode(errors="replace") if frame.payload_size > 2 else ""
            if not transport.is_close_frame_sent:
                transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.close_code is None:
            self.close_code = CLOSED
        self._early.put_nowait(None)
        if not self.disconnected.done():
            self.disconnected.set_result(None)

    def listen(self, handler: Callable[[str], str | None]) -> None:
        """Hand every text frame to handler from now on, those already queued first."""
        self.handler = handler
        while not self._early.empty():
            text = self._early.get_nowait()
            if text is not None and (reply := handler(text)) is not None and self.transport is not None:
                self.transport.send(WSMsgType.TEXT, reply.encode())

    async def recv(self) -> str:
        text = await self._early.get()
        if text is None:
            raise ConnectionError(f"closed {self.close_code} {self.close_reason}")
        return text

    async def send(self, text: str) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, text.encode())

    async def close(self) -> None:
        if self.transport is None or self.disconnected.done():
            return
        self.transport.send_close(WSCloseCode.OK)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.disconnected), 2)
        self.transport.disconnect()


async def connect(url: str, timeout: float = 60) -> PicowsSocket:
    # No compression (picows has none), no client pings (the servers ping).
    _, socket = await ws_connect(PicowsSocket, url, websocket_handshake_timeout=timeout, max_frame_size=2**22)
    return socket  # type: ignore[no-any-return]
