"""uvicorn's websockets-sansio protocol, plus a way for the app to write a server
frame at once: the ASGI extension `chat.write`, a plain function, so a delivery
costs no task wake-up and no chain of ASGI send coroutines.

Server frames are unmasked, so without permessage-deflate one frame's bytes are the
same for every recipient: the app encodes them once (`encode_frame`) and offers
them to each socket. A socket takes them only when they can go out now and in
order; otherwise the app sends through ASGI as before, which waits for the
transport to drain. So the transport's buffer stays bounded by its high-water mark
plus one frame, and a slow client still fills the app's own queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State

WRITE: Final = "chat.write"

# Writes a frame from encode_frame if it can go now; False: send it through ASGI.
Write = Callable[[bytes], bool]


def encode_frame(payload: str | bytes) -> bytes:
    """A whole unmasked server frame: text for str, binary for bytes."""
    if isinstance(payload, str):
        return Frame(Opcode.TEXT, payload.encode()).serialize(mask=False)
    return Frame(Opcode.BINARY, payload).serialize(mask=False)


def writer_of(scope: Mapping[str, Any]) -> Write | None:
    """The socket's `chat.write`, when the server offers it."""
    extension = scope.get("extensions", {}).get(WRITE)
    return None if extension is None else extension["write"]


class ChatWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:  # else refused, with no scope or app
            self.scope["extensions"][WRITE] = {"write": self.write_frame}

    def write_frame(self, frame: bytes) -> bool:
        """Write `frame` now if the socket is open, nothing compresses its frames
        and the transport is below its high-water mark."""
        if not self.writable.is_set() or self.disconnected or self.conn.state is not State.OPEN or self.conn.extensions:
            return False
        self.transport.write(frame)
        return True
