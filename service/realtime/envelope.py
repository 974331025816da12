"""What travels between instances, through the broker (one frame on many sockets: wire.py).

Channels: `room:<id>` carries a room's stored messages (`<seq>:<published at>:<frame>`)
and its ephemeral presence and typing frames (`e:<user not to deliver to, or 0>:<frame>`);
`control` carries control events (service/control.py)."""

from __future__ import annotations

import time

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
