"""The broker's codec: what travels between instances (one frame on many sockets: wire.py).

Channels: `room:<id>` carries a room's stored messages (`<seq>:<published at>:<frame>`)
and its ephemeral presence and typing frames (`e:<user not to deliver to, or 0>:<frame>`);
`control` carries control events (service/control.py) as `{"kind", …fields}`."""

from __future__ import annotations

import time
from dataclasses import asdict

import orjson

from service.control import (
    ControlEvent,
    FamilyRevoked,
    InstanceAlive,
    MemberRemoved,
    ReadMoved,
    RoomAdded,
    RoomChanged,
    RoomCreated,
    RoomDeleted,
    StreamsBehind,
    TokenRevoked,
)

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


_KINDS: dict[str, type[ControlEvent]] = {
    "token_revoked": TokenRevoked,
    "family_revoked": FamilyRevoked,
    "member_removed": MemberRemoved,
    "room_deleted": RoomDeleted,
    "room_changed": RoomChanged,
    "room_added": RoomAdded,
    "room_created": RoomCreated,
    "read_moved": ReadMoved,
    "instance_alive": InstanceAlive,
    "streams_behind": StreamsBehind,
}
_NAMES = {cls: kind for kind, cls in _KINDS.items()}


def encode_control(event: ControlEvent) -> bytes:
    return orjson.dumps({"kind": _NAMES[type(event)], **asdict(event)})


def decode_control(payload: bytes) -> ControlEvent | None:
    """The event, or None for a kind this version does not know (a newer instance's)."""
    fields = orjson.loads(payload)
    cls = _KINDS.get(fields.pop("kind", None))
    return cls(**fields) if cls is not None else None
