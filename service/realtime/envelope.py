"""What travels between instances and how one frame is put on many sockets.

Channels: `room:<id>` carries a room's stored messages (`<seq>:<published at>:<frame>`)
and its ephemeral presence and typing frames (`e:<user not to deliver to, or 0>:<frame>`);
`control` carries control events (service/control.py)."""

from __future__ import annotations

import time
from typing import Protocol

from service.realtime import server_frames as frames
from service.transport.websocket import encode_frame

CONTROL_CHANNEL = "control"
EPHEMERAL = b"e:"


def room_channel(room_id: int) -> str:
    return f"room:{room_id}"


def room_of(channel: str) -> int:
    return int(channel.partition(":")[2])


def encode_message(seq: int, frame: str) -> bytes:
    return b"%d:%.6f:" % (seq, time.time()) + frame.encode()


def decode_message(payload: bytes) -> tuple[int, float, str]:
    seq, published_at, frame = payload.split(b":", 2)
    return int(seq), float(published_at), frame.decode()


def encode_ephemeral(frame: str, exclude_user: int | None) -> bytes:
    return EPHEMERAL + b"%d:" % (exclude_user or 0) + frame.encode()


def decode_ephemeral(payload: bytes) -> tuple[int | None, str]:
    _, exclude, frame = payload.split(b":", 2)
    return int(exclude) or None, frame.decode()


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
            text = frames.with_room(self.text, self.room_id) if socket.multiplexed else self.text
            form = self._forms[key] = frames.to_msgpack(text) if socket.binary else text
        return form
