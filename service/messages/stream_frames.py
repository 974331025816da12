"""The frames of a room's stream (messages, edits, deletes), encoded once (orjson)
so the same text goes to every recipient, socket or REST (`GET /rooms/{id}/events`)."""

from __future__ import annotations

from typing import Any

import orjson

from service.messages.entries import StoredDelete, StoredEdit, StoredMessage, StreamEvent


def encode(obj: dict[str, Any]) -> str:
    return orjson.dumps(obj, option=orjson.OPT_UTC_Z).decode()


def with_ref(frame: dict[str, Any], ref: str | None) -> dict[str, Any]:
    if ref is not None:
        frame["ref"] = ref
    return frame


_MESSAGE_START = '{"type":"message",'


def is_message_frame(frame: str) -> bool:
    """A message, not an edit or delete (frames are encoded here, `type` first)."""
    return frame.startswith(_MESSAGE_START)


def message_frame(message: StoredMessage, *, duplicate: bool = False, ref: str | None = None) -> str:
    frame: dict[str, Any] = {
        "type": "message",
        "id": message.id,
        "room_id": message.room_id,
        "seq": message.seq,
        "user": {"id": message.user_id, "username": message.username},
        "body": message.body,
        "client_msg_id": message.client_msg_id,
        "created_at": message.created_at,
        "edited_at": message.edited_at,
        "deleted": message.deleted,
    }
    if duplicate:
        frame["duplicate"] = True
    return encode(with_ref(frame, ref))


def edit_frame(edit: StoredEdit) -> str:
    return encode(
        {
            "type": "edit",
            "seq": edit.seq,
            "target_seq": edit.target_seq,
            "body": edit.body,
            "edited_at": edit.edited_at,
            "user": {"id": edit.user_id, "username": edit.username},
        }
    )


def delete_frame(delete: StoredDelete) -> str:
    return encode(
        {
            "type": "delete",
            "seq": delete.seq,
            "target_seq": delete.target_seq,
            "user": {"id": delete.user_id, "username": delete.username},
        }
    )


def stream_frame(event: StreamEvent) -> str:
    """The frame of one entry of a room's stream."""
    match event:
        case StoredMessage():
            return message_frame(event)
        case StoredEdit():
            return edit_frame(event)
        case StoredDelete():
            return delete_frame(event)
