"""Server frames, encoded once (orjson) so the same text goes to every recipient.

Under `chat.v1.msgpack` the same objects travel as MessagePack, converted from the
JSON once per frame for all such recipients. On the multiplexed socket every frame
about a room carries `"room"`: its id (welcome, room_added, room_created and
room_updated: the Room object)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgpack  # type: ignore[import-untyped]
import orjson

from service.auth.models import User
from service.messages.stream_frames import encode, with_ref
from service.rooms.models import Room

if TYPE_CHECKING:
    from service.realtime.protocol import FrameError


def to_msgpack(frame: str) -> bytes:
    """The same object as the JSON frame, as MessagePack."""
    packed: bytes = msgpack.packb(orjson.loads(frame))
    return packed


def with_room(frame: str, room_id: int) -> str:
    """The frame with `"room": room_id` added, for a multiplexed socket."""
    return f'{{"room":{room_id},' + frame[1:]


def encode_user(user: User) -> bytes:
    """A User object as JSON, the form presence keeps and frames embed."""
    return orjson.dumps(user_object(user), option=orjson.OPT_UTC_Z)


def user_object(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "is_admin": user.is_admin, "created_at": user.created_at}


def room_object(room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "name": room.name,
        "description": room.description,
        "private": room.private,
        "owner_id": room.owner_id,
        "created_at": room.created_at,
        "last_seq": room.last_seq,
        "kind": room.kind,
    }


def read_frame(room_id: int, seq: int, thread: int | None = None) -> str:
    """`thread` when it is a thread's marker."""
    if thread is None:
        return encode({"type": "read", "room": room_id, "seq": seq})
    return encode({"type": "read", "room": room_id, "seq": seq, "thread": thread})


def hello_frame(user_json: bytes) -> str:
    return encode({"type": "hello", "user": orjson.Fragment(user_json)})


def welcome_frame(
    room: Room, last_seq: int, user_json: bytes | None, online: list[bytes], ref: str | None = None
) -> str:
    """`user_json`: on the per-room socket (the multiplexed one said who in `hello`);
    `last_seq`: where the replay that follows ends."""
    frame: dict[str, Any] = {"type": "welcome", "room": room_object(room) | {"last_seq": last_seq}}
    if user_json is not None:
        frame["user"] = orjson.Fragment(user_json)
    frame["online"] = [orjson.Fragment(u) for u in online]
    return encode(with_ref(frame, ref))


def synced_frame(last_seq: int, replayed: int, truncated: bool, ref: str | None = None) -> str:
    frame = {"type": "synced", "last_seq": last_seq, "replayed": replayed, "truncated": truncated}
    return encode(with_ref(frame, ref))


def presence_frame(event: str, user_json: bytes) -> str:
    return encode({"type": "presence", "event": event, "user": orjson.Fragment(user_json)})


def typing_frame(user_json: bytes) -> str:
    return encode({"type": "typing", "user": orjson.Fragment(user_json)})


def unsubscribed_frame(room_id: int, reason: str, ref: str | None = None) -> str:
    return encode(with_ref({"type": "unsubscribed", "room": room_id, "reason": reason}, ref))


def room_added_frame(room: Room) -> str:
    return encode({"type": "room_added", "room": room_object(room)})


def room_created_frame(room: Room) -> str:
    return encode({"type": "room_created", "room": room_object(room)})


def room_updated_frame(room: Room) -> str:
    return encode({"type": "room_updated", "room": room_object(room)})


def member_added_frame(user_json: bytes) -> str:
    """About a room: tagged with it on /ws, as presence is."""
    return encode({"type": "member_added", "user": orjson.Fragment(user_json)})


def member_removed_frame(user_id: int) -> str:
    return encode({"type": "member_removed", "user_id": user_id})


def error_frame(error: FrameError) -> str:
    return encode(
        {
            "type": "error",
            "code": error.code,
            "detail": error.detail,
            "client_msg_id": error.client_msg_id,
            **error.extra,
        }
    )


def pong_frame(ref: str | None = None) -> str:
    return PONG_FRAME if ref is None else encode({"type": "pong", "ref": ref})


PONG_FRAME = encode({"type": "pong"})
