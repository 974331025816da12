"""One room frame put on many sockets, encoded once per form."""

from __future__ import annotations

from typing import Protocol

from service.realtime import server_frames
from service.transport.websocket import encode_frame


class Socket(Protocol):
    binary: bool
    multiplexed: bool


class Wire:
    """One room frame for many sockets, each form made at most once: JSON or
    MessagePack, and with `"room"` for multiplexed sockets; and each form's
    WebSocket frame bytes, the same for every socket that takes them."""

    __slots__ = ("text", "room_id", "_forms", "_frames")

    def __init__(self, text: str, room_id: int) -> None:
        self.text = text
        self.room_id = room_id
        self._forms: dict[tuple[bool, bool], str | bytes] = {}
        self._frames: dict[tuple[bool, bool], bytes] = {}

    def frame_for(self, socket: Socket) -> bytes:
        key = (socket.binary, socket.multiplexed)
        frame = self._frames.get(key)
        if frame is None:
            frame = self._frames[key] = encode_frame(self.for_(socket))
        return frame

    def for_(self, socket: Socket) -> str | bytes:
        if not socket.binary and not socket.multiplexed:
            return self.text
        key = (socket.binary, socket.multiplexed)
        form = self._forms.get(key)
        if form is None:
            text = server_frames.with_room(self.text, self.room_id) if socket.multiplexed else self.text
            form = self._forms[key] = server_frames.to_msgpack(text) if socket.binary else text
        return form
