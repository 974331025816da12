"""The frames of a room's stream (messages, edits, deletes, reactions, pins),
encoded once (orjson) so the same text goes to every recipient, socket or REST
(`GET /rooms/{id}/events`). Each carries absolute values (a body, a count, a
flag), so a client applying entries above a message's `updated_seq` converges."""

from __future__ import annotations

from typing import Any

import orjson

from service.messages.entries import (
    StoredDelete,
    StoredEdit,
    StoredMessage,
    StoredPin,
    StoredReaction,
    StreamEvent,
)


def encode(obj: dict[str, Any]) -> str:
    return orjson.dumps(obj, option=orjson.OPT_UTC_Z).decode()


def with_ref(frame: dict[str, Any], ref: str | None) -> dict[str, Any]:
    if ref is not None:
        frame["ref"] = ref
    return frame


_MESSAGE_START = '{"type":"message",'
# Keys and strings are encoded here: inside a body a quote is escaped, so this
# text is only ever the key of a top-level message.
_TOP_LEVEL = ',"thread_seq":null,'


def is_message_frame(frame: str) -> bool:
    """A top-level message, which changes no entry before it (an edit, a delete, a
    reaction, a pin, or a reply and its root's counts, do)."""
    return frame.startswith(_MESSAGE_START) and _TOP_LEVEL in frame


def message_object(message: StoredMessage) -> dict[str, Any]:
    """The Message object (docs/protocol.md, Objects), as frames and REST carry it."""
    return {
        "id": message.id,
        "room_id": message.room_id,
        "seq": message.seq,
        "user": {"id": message.user_id, "username": message.username},
        "body": message.body,
        "client_msg_id": message.client_msg_id,
        "created_at": message.created_at,
        "edited_at": message.edited_at,
        "deleted": message.deleted,
        "updated_seq": message.updated_seq,
        "thread_seq": message.thread_seq,
        "reply_count": message.reply_count,
        "last_reply_at": message.last_reply_at,
        "reactions": message.reactions,
        "pinned": message.pinned,
        "mentions": message.mentions,
        "mentions_room": message.mentions_room,
        "files": message.files,
    }


def message_frame(message: StoredMessage, *, duplicate: bool = False, ref: str | None = None) -> str:
    frame: dict[str, Any] = {"type": "message", **message_object(message)}
    if message.root is not None:
        frame["root"] = message.root
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
            "mentions": edit.mentions,
            "mentions_room": edit.mentions_room,
        }
    )


def delete_frame(delete: StoredDelete) -> str:
    frame: dict[str, Any] = {
        "type": "delete",
        "seq": delete.seq,
        "target_seq": delete.target_seq,
        "user": {"id": delete.user_id, "username": delete.username},
        "unpinned": delete.unpinned,
    }
    if delete.root is not None:
        frame["root"] = delete.root
    return encode(frame)


def reaction_frame(reaction: StoredReaction) -> str:
    return encode(
        {
            "type": "reaction",
            "seq": reaction.seq,
            "target_seq": reaction.target_seq,
            "emoji": reaction.emoji,
            "op": reaction.op,
            "user": {"id": reaction.user_id, "username": reaction.username},
            "count": reaction.count,
        }
    )


def pin_frame(pin: StoredPin) -> str:
    return encode(
        {
            "type": "pin",
            "seq": pin.seq,
            "target_seq": pin.target_seq,
            "op": pin.op,
            "user": {"id": pin.user_id, "username": pin.username},
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
        case StoredReaction():
            return reaction_frame(event)
        case StoredPin():
            return pin_frame(event)
