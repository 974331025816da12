"""Rows of `messages` as the stream's entries: the columns read, and each kind
built from them. The JSON columns (`reactions`, `mention_ids`, `detail`: a
message's files, a reply's root) are parsed here alone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select

from service.messages.entries import (
    ReactionSummary,
    RootCounts,
    StoredDelete,
    StoredEdit,
    StoredMessage,
    StoredPin,
    StoredReaction,
    StreamEvent,
)
from service.messages.models import DELETE, EDIT, MESSAGE, PIN, REACTION, Message
from service.tables import messages, users

# The columns of a StoredMessage (message_of reads them in this order).
STORED = select(
    messages.c.id,
    messages.c.room_id,
    messages.c.seq,
    messages.c.user_id,
    users.c.username,
    messages.c.body,
    messages.c.client_msg_id,
    messages.c.created_at,
    messages.c.edited_at,
    messages.c.deleted,
    messages.c.updated_seq,
    messages.c.thread_seq,
    messages.c.reply_count,
    messages.c.last_reply_at,
    messages.c.reactions,
    messages.c.pinned_seq,
    messages.c.mention_ids,
    messages.c.mentions_room,
    messages.c.detail,
).join(users, users.c.id == messages.c.user_id)
# Any entry: a message's columns, then its kind and target.
STREAM = STORED.add_columns(messages.c.kind, messages.c.target_seq)


def message_of(row: Sequence[Any]) -> StoredMessage:
    """A StoredMessage from a row of STORED (or STREAM)."""
    (
        message_id,
        room_id,
        seq,
        user_id,
        username,
        body,
        client_msg_id,
        created_at,
        edited_at,
        deleted,
        updated_seq,
        thread_seq,
        reply_count,
        last_reply_at,
        reactions,
        pinned_seq,
        mention_ids,
        mentions_room,
        detail,
        *_,
    ) = row
    said: dict[str, Any] = orjson.loads(detail) if detail is not None else {}
    root = root_of(said.get("root")) if thread_seq is not None else None
    return StoredMessage(
        message_id,
        room_id,
        seq,
        user_id,
        username,
        body,
        client_msg_id,
        created_at,
        edited_at,
        deleted,
        updated_seq,
        thread_seq,
        reply_count,
        last_reply_at,
        reactions_of(reactions),
        pinned_seq is not None,
        tuple(orjson.loads(mention_ids)) if mention_ids is not None else (),
        mentions_room,
        tuple(said.get("files", ())),
        root,
    )


def event_of(row: Sequence[Any]) -> StreamEvent:
    """Any entry from a row of STREAM; an event's `detail` says what it did, as of it."""
    kind, target_seq = row[-2], row[-1]
    if kind == MESSAGE:
        return message_of(row)
    _id, room_id, seq, user_id, username, body, _cid, created_at, *_, detail = row[:-2]
    said: dict[str, Any] = orjson.loads(detail) if detail is not None else {}
    if kind == EDIT:
        mentions = tuple(said.get("mentions", ()))
        return StoredEdit(
            room_id, seq, target_seq, user_id, username, body, created_at, mentions, said.get("mentions_room", False)
        )
    if kind == DELETE:
        return StoredDelete(
            room_id, seq, target_seq, user_id, username, said.get("unpinned", False), root_of(said.get("root"))
        )
    if kind == REACTION:
        return StoredReaction(room_id, seq, target_seq, user_id, username, said["emoji"], said["op"], said["count"])
    assert kind == PIN, kind
    return StoredPin(room_id, seq, target_seq, user_id, username, said["op"])


def message_of_model(m: Message) -> StoredMessage:
    """A StoredMessage from an ORM row with its user loaded."""
    row = (
        m.id,
        m.room_id,
        m.seq,
        m.user_id,
        m.user.username,
        m.body,
        m.client_msg_id,
        m.created_at,
        m.edited_at,
        m.deleted,
        m.updated_seq,
        m.thread_seq,
        m.reply_count,
        m.last_reply_at,
        m.reactions,
        m.pinned_seq,
        m.mention_ids,
        m.mentions_room,
        m.detail,
    )
    return message_of(row)


def reactions_of(summary: str | None) -> tuple[ReactionSummary, ...]:
    if summary is None:
        return ()
    return tuple(ReactionSummary(r["emoji"], r["count"], tuple(r["user_ids"])) for r in orjson.loads(summary))


def root_of(root: dict[str, Any] | None) -> RootCounts | None:
    if root is None:
        return None
    last = root["last_reply_at"]
    return RootCounts(root["seq"], root["reply_count"], datetime.fromisoformat(last) if last is not None else None)


def dump(value: object) -> str:
    """A JSON column's text (times in UTC with Z, as frames have them)."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z).decode()
