"""Frames on the wire: parsing what clients send, encoding what the server sends.

Server frames are encoded once (orjson) and the same text goes to every recipient.
Under the `chat.v1.msgpack` subprotocol the same objects travel as MessagePack in
binary frames: converted from that JSON, once per frame for all such recipients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack  # type: ignore[import-untyped]
import orjson

from service.auth.models import User
from service.messages.store import StoredMessage
from service.rooms.models import Room

MAX_CLIENT_MSG_ID = 64
JSON_SUBPROTOCOL = "chat.v1.json"
MSGPACK_SUBPROTOCOL = "chat.v1.msgpack"
SUBPROTOCOLS = (JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL)
# An offer of `chat.token.<access token>` carries the token outside the URL: browsers
# print the URL of a socket that fails to connect in their console. Never selected.
TOKEN_SUBPROTOCOL_PREFIX = "chat.token."


class FrameError(Exception):
    """A frame the server answers with an error frame; the connection stays open."""

    def __init__(self, code: str, detail: str, client_msg_id: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.client_msg_id = client_msg_id
        self.extra = extra


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class SendMessage:
    body: str
    client_msg_id: str | None


@dataclass(frozen=True, slots=True)
class Typing:
    pass


ClientFrame = Ping | SendMessage | Typing


def choose_subprotocol(offered: list[str]) -> str | None:
    """The first offered name this server speaks, in the client's order."""
    return next((name for name in offered if name in SUBPROTOCOLS), None)


def offered_token(offered: list[str]) -> str | None:
    """The access token of a `chat.token.<token>` offer, if the client made one."""
    return next(
        (name[len(TOKEN_SUBPROTOCOL_PREFIX) :] for name in offered if name.startswith(TOKEN_SUBPROTOCOL_PREFIX)), None
    )


def parse_client_frame(text: str, max_message_chars: int) -> ClientFrame:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FrameError("invalid_json", "the frame is not valid JSON") from None
    return parse_client_object(data, max_message_chars)


def parse_msgpack_frame(data: bytes, max_message_chars: int) -> ClientFrame:
    try:
        # Frames are already size-capped by the server; unpackb bounds lengths by the input.
        obj = msgpack.unpackb(data, raw=False)
    except Exception:
        raise FrameError("invalid_frame", "the frame is not valid MessagePack") from None
    return parse_client_object(obj, max_message_chars)


def parse_client_object(data: object, max_message_chars: int) -> ClientFrame:
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", 'a frame is an object with a "type"')
    client_msg_id = data.get("client_msg_id")
    echo_id = client_msg_id if _valid_client_msg_id(client_msg_id) else None
    kind = data.get("type")
    if kind == "ping":
        return Ping()
    if kind == "typing":
        return Typing()
    if kind != "message":
        raise FrameError("invalid_frame", _type_problem(kind), echo_id)
    if client_msg_id is not None and echo_id is None:
        raise FrameError(
            "invalid_frame", f"client_msg_id must be a string of 1 to {MAX_CLIENT_MSG_ID} characters without NUL"
        )
    body = data.get("body")
    if not isinstance(body, str):
        raise FrameError("invalid_frame", "body must be a string", echo_id)
    if not body.strip():
        raise FrameError("empty_body", "the message body is empty", echo_id)
    if len(body) > max_message_chars:
        raise FrameError("body_too_long", f"the body is longer than {max_message_chars} characters", echo_id)
    if "\x00" in body:
        # PostgreSQL text cannot hold NUL; refuse it on every backend alike.
        raise FrameError("invalid_frame", "body must not contain NUL characters", echo_id)
    return SendMessage(body=body, client_msg_id=client_msg_id)


def _type_problem(kind: object) -> str:
    # Never repr() client values: a deeply nested one raises RecursionError.
    if kind is None:
        return 'missing "type"'
    if not isinstance(kind, str):
        return '"type" must be a string'
    return f"unknown frame type {kind[:32]!r}"


def _valid_client_msg_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_CLIENT_MSG_ID and "\x00" not in value


def _encode(obj: dict[str, Any]) -> str:
    return orjson.dumps(obj, option=orjson.OPT_UTC_Z).decode()


def to_msgpack(frame: str) -> bytes:
    """The same object as the JSON frame, as MessagePack."""
    packed: bytes = msgpack.packb(orjson.loads(frame))
    return packed


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
    }


def message_frame(message: StoredMessage, *, duplicate: bool = False) -> str:
    frame: dict[str, Any] = {
        "type": "message",
        "id": message.id,
        "room_id": message.room_id,
        "seq": message.seq,
        "user": {"id": message.user_id, "username": message.username},
        "body": message.body,
        "client_msg_id": message.client_msg_id,
        "created_at": message.created_at,
    }
    if duplicate:
        frame["duplicate"] = True
    return _encode(frame)


def welcome_frame(room: Room, user: User, online: list[bytes]) -> str:
    return _encode(
        {
            "type": "welcome",
            "room": room_object(room),
            "user": user_object(user),
            "online": [orjson.Fragment(u) for u in online],
        }
    )


def presence_frame(event: str, user_json: bytes) -> str:
    return _encode({"type": "presence", "event": event, "user": orjson.Fragment(user_json)})


def typing_frame(user_json: bytes) -> str:
    return _encode({"type": "typing", "user": orjson.Fragment(user_json)})


def synced_frame(last_seq: int, replayed: int, truncated: bool) -> str:
    return _encode({"type": "synced", "last_seq": last_seq, "replayed": replayed, "truncated": truncated})


def error_frame(error: FrameError) -> str:
    return _encode(
        {
            "type": "error",
            "code": error.code,
            "detail": error.detail,
            "client_msg_id": error.client_msg_id,
            **error.extra,
        }
    )


PONG_FRAME = _encode({"type": "pong"})
