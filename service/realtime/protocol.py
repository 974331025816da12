"""Client frames: subprotocol negotiation, and parsing what clients send into typed frames.

The per-room socket takes `message` (a reply with `thread_seq`), `typing`, `read` (a
thread's marker with `thread`) and `ping`. The multiplexed
socket (`/ws`) also takes `subscribe` and `unsubscribe`, its `message`, `typing`
and `read` name their `room`, and any frame may carry a `ref` that the answers to it echo. What
the server sends is in server_frames.py and messages/stream_frames.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack  # type: ignore[import-untyped]
import orjson

from service.files.objects import file_ids
from service.messages.blank import is_blank
from service.messages.entries import InvalidFiles
from service.paging import MAX_DB_INT, MAX_SEQ

MAX_CLIENT_MSG_ID = 64
MAX_REF = 64
JSON_SUBPROTOCOL = "chat.v1.json"
MSGPACK_SUBPROTOCOL = "chat.v1.msgpack"
SUBPROTOCOLS = (JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL)
# An offer of `chat.token.<access token>` carries the token outside the URL: browsers
# print the URL of a socket that fails to connect in their console. Never selected.
TOKEN_SUBPROTOCOL_PREFIX = "chat.token."


class FrameError(Exception):
    """A frame the server answers with an error frame; the connection stays open.
    `extra` holds the frame's `room` and `ref` where it had them, and other fields."""

    def __init__(self, code: str, detail: str, client_msg_id: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.client_msg_id = client_msg_id
        self.extra = {k: v for k, v in extra.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Ping:
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class SendMessage:
    body: str
    client_msg_id: str | None
    room: int | None = None  # on /ws
    ref: str | None = None
    thread_seq: int | None = None  # a reply in the thread of the message at this seq
    files: tuple[int, ...] = ()  # ids of the sender's uploads it attaches


@dataclass(frozen=True, slots=True)
class Typing:
    room: int | None = None
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Read:
    """The user has read the room up to `seq`, or with `thread` that thread (its root's seq)."""

    seq: int
    room: int | None = None
    ref: str | None = None
    thread: int | None = None


@dataclass(frozen=True, slots=True)
class Subscribe:
    rooms: tuple[tuple[int, int | None], ...]  # (room id, since)
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    rooms: tuple[int, ...]
    ref: str | None = None


ClientFrame = Ping | SendMessage | Typing | Read | Subscribe | Unsubscribe


def choose_subprotocol(offered: list[str]) -> str | None:
    """The first offered name this server speaks, in the client's order."""
    return next((name for name in offered if name in SUBPROTOCOLS), None)


def offered_token(offered: list[str]) -> str | None:
    """The access token of a `chat.token.<token>` offer, if the client made one."""
    return next(
        (name[len(TOKEN_SUBPROTOCOL_PREFIX) :] for name in offered if name.startswith(TOKEN_SUBPROTOCOL_PREFIX)), None
    )


def parse_client_frame(text: str, max_message_chars: int, *, multiplexed: bool = False) -> ClientFrame:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FrameError("invalid_json", "the frame is not valid JSON") from None
    return parse_client_object(data, max_message_chars, multiplexed=multiplexed)


def parse_msgpack_frame(data: bytes, max_message_chars: int, *, multiplexed: bool = False) -> ClientFrame:
    try:
        # Frames are already size-capped by the server; unpackb bounds lengths by the input.
        obj = msgpack.unpackb(data, raw=False)
    except Exception:
        raise FrameError("invalid_frame", "the frame is not valid MessagePack") from None
    return parse_client_object(obj, max_message_chars, multiplexed=multiplexed)


def parse_client_object(data: object, max_message_chars: int, *, multiplexed: bool = False) -> ClientFrame:
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", 'a frame is an object with a "type"')
    ref = _ref(data) if multiplexed else None
    client_msg_id = data.get("client_msg_id")
    echo_id = client_msg_id if _valid_client_msg_id(client_msg_id) else None
    kind = data.get("type")
    if kind == "ping":
        return Ping(ref)
    if multiplexed and kind == "subscribe":
        return Subscribe(_subscriptions(data.get("rooms"), ref), ref)
    if multiplexed and kind == "unsubscribe":
        return Unsubscribe(_room_ids(data.get("rooms"), ref), ref)
    room = _room(data, ref, echo_id) if multiplexed and kind in ("message", "typing", "read") else None
    if kind == "typing":
        return Typing(room, ref)
    if kind == "read":
        seq = data.get("seq")
        if not (type(seq) is int and 0 <= seq <= MAX_SEQ):
            raise FrameError("invalid_frame", '"seq" must be a seq (an integer from 0)', room=room, ref=ref)
        thread = data.get("thread")
        if not (thread is None or _is_seq(thread)):
            raise FrameError("invalid_frame", '"thread" must be the seq of a thread\'s root', room=room, ref=ref)
        return Read(seq, room, ref, thread)
    if kind != "message":
        raise FrameError("invalid_frame", _type_problem(kind), echo_id, ref=ref)
    if client_msg_id is not None and echo_id is None:
        raise FrameError(
            "invalid_frame",
            f"client_msg_id must be a string of 1 to {MAX_CLIENT_MSG_ID} characters without NUL",
            room=room,
            ref=ref,
        )
    thread_seq = data.get("thread_seq")
    if not (thread_seq is None or _is_seq(thread_seq)):
        raise FrameError("invalid_frame", '"thread_seq" must be the seq of a message', echo_id, room=room, ref=ref)
    files = _files(data.get("files"), echo_id, room, ref)
    body = data.get("body")
    if not isinstance(body, str):
        raise FrameError("invalid_frame", "body must be a string", echo_id, room=room, ref=ref)
    if is_blank(body) and not files:
        detail = "the message body is blank (whitespace and invisible characters do not count)"
        raise FrameError("empty_body", detail, echo_id, room=room, ref=ref)
    if len(body) > max_message_chars:
        detail = f"the body is longer than {max_message_chars} characters"
        raise FrameError("body_too_long", detail, echo_id, room=room, ref=ref)
    if "\x00" in body:
        # PostgreSQL text cannot hold NUL; refuse it on every backend alike.
        raise FrameError("invalid_frame", "body must not contain NUL characters", echo_id, room=room, ref=ref)
    return SendMessage(body, client_msg_id, room, ref, thread_seq, files)


def _files(value: object, echo_id: str | None, room: int | None, ref: str | None) -> tuple[int, ...]:
    """A message's `files`: a list of file ids (strings); more than MAX_FILES, or an
    id no file can have, is `invalid_files` as the store's refusals are."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(f, str) for f in value):
        raise FrameError("invalid_frame", '"files" must be a list of file ids (strings)', echo_id, room=room, ref=ref)
    ids = file_ids(value)
    if isinstance(ids, str):
        raise FrameError(InvalidFiles.code, ids, echo_id, room=room, ref=ref)
    return ids


def _ref(data: dict[Any, Any]) -> str | None:
    ref = data.get("ref")
    if ref is None or (isinstance(ref, str) and 0 < len(ref) <= MAX_REF and "\x00" not in ref):
        return ref
    raise FrameError("invalid_frame", f"ref must be a string of 1 to {MAX_REF} characters without NUL")


def _is_room_id(value: object) -> bool:
    return type(value) is int and 0 < value <= MAX_DB_INT


def _is_seq(value: object) -> bool:
    """A message's seq: an integer from 1."""
    return type(value) is int and 0 < value <= MAX_SEQ


def _room(data: dict[Any, Any], ref: str | None, echo_id: str | None) -> int:
    room = data.get("room")
    if not _is_room_id(room):
        raise FrameError("invalid_frame", '"room" must be a room id', echo_id, ref=ref)
    assert isinstance(room, int)
    return room


def _subscriptions(rooms: object, ref: str | None) -> tuple[tuple[int, int | None], ...]:
    if not isinstance(rooms, list) or not rooms:
        raise FrameError("invalid_frame", '"rooms" must be a list of {"room", "since"}', ref=ref)
    wanted: list[tuple[int, int | None]] = []
    for entry in rooms:
        room = entry.get("room") if isinstance(entry, dict) else None
        since = entry.get("since") if isinstance(entry, dict) else None
        if not _is_room_id(room) or not (since is None or (type(since) is int and 0 <= since <= MAX_SEQ)):
            raise FrameError("invalid_frame", 'each room is {"room": id, "since": seq or null}', ref=ref)
        assert isinstance(room, int)
        wanted.append((room, since))
    return tuple(wanted)


def _room_ids(rooms: object, ref: str | None) -> tuple[int, ...]:
    if not isinstance(rooms, list) or not rooms or not all(_is_room_id(room) for room in rooms):
        raise FrameError("invalid_frame", '"rooms" must be a list of room ids', ref=ref)
    return tuple(rooms)


def _type_problem(kind: object) -> str:
    # Never repr() client values: a deeply nested one raises RecursionError.
    if kind is None:
        return 'missing "type"'
    if not isinstance(kind, str):
        return '"type" must be a string'
    return f"unknown frame type {kind[:32]!r}"


def _valid_client_msg_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_CLIENT_MSG_ID and "\x00" not in value
