"""Edits and deletes (docs/protocol.md, Edits and deletes): each checked against its target and stored with
the room's next seq. An edit resolves the body's mentions again; a delete leaves a
tombstone (no body, reactions, pin or mentions) and, for a reply, sets its root's
counts again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Connection, bindparam, delete, text, update

from service.db import UTCDateTime
from service.errors import Conflict, Forbidden
from service.messages import mentions, threads
from service.messages.change_steps import Locked, Target, Unchanged, change_target, entry
from service.messages.entries import StoredDelete, StoredEdit
from service.messages.mentions import MentionRow
from service.messages.models import DELETE, EDIT
from service.messages.stream_rows import dump
from service.rooms.models import DIRECT
from service.search.words import searchable
from service.tables import messages, reactions


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit:
    """The message at `target_seq` gets `body`: by its author, within `edit_window`."""

    room_id: int
    target_seq: int
    user_id: int
    username: str
    body: str
    edit_window: timedelta | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Delete:
    """The message at `target_seq` is deleted: by its author, the room's owner or an admin."""

    room_id: int
    target_seq: int
    user_id: int
    username: str
    is_admin: bool


def edit(conn: Connection, change: Edit, room: Locked, target: Target, now: datetime) -> StoredEdit:
    if change.user_id != target.author:
        raise Forbidden("only the author may edit a message")
    if target.deleted:
        raise Conflict("the message was deleted")
    if change.edit_window is not None and now - target.created_at > change.edit_window:
        raise Forbidden("the time for editing this message has passed")
    said = mentions.named(change.body)
    names = said.names()
    members = mentions.members_named(conn, {change.room_id: names}) if names else {}
    ids = mentions.resolve(said, members.get(change.room_id, {}), target.author)
    # The edit's row keeps the mentions as of it, for its frame on replay.
    detail = dump({"mentions": ids, "mentions_room": said.room}) if ids or said.room else None
    entry(
        conn,
        room_id=change.room_id,
        seq=room.seq,
        kind=EDIT,
        target_seq=change.target_seq,
        user_id=change.user_id,
        now=now,
        body=change.body,
        detail=detail,
    )
    change_target(
        conn,
        change.room_id,
        change.target_seq,
        room.seq,
        body=change.body,
        search_text=searchable(change.body),
        edited_at=now,
        mention_ids=dump(ids) if ids else None,
        mentions_room=said.room,
    )
    mentions.clear_rows(conn, target.id)
    row = MentionRow(target.id, change.room_id, change.target_seq, target.thread_seq, ids, said.room)
    mentions.write_rows(conn, [row])
    if target.thread_seq is not None:
        # Named in a reply: a follower of its thread, who has not read that reply.
        named = {(u, change.room_id, target.thread_seq): change.target_seq - 1 for u in ids}
        threads.follow(conn, created=named, moved={})
    return StoredEdit(
        change.room_id, room.seq, change.target_seq, change.user_id, change.username, change.body, now, ids, said.room
    )


_FILES_GONE = text(
    "UPDATE files SET deleted_at = :now WHERE message_id = :message_id AND deleted_at IS NULL"
).bindparams(bindparam("now", type_=UTCDateTime))


def delete_message(conn: Connection, change: Delete, room: Locked, target: Target, now: datetime) -> StoredDelete:
    _check_delete(change, target.author, room)
    if target.deleted:
        raise Unchanged
    # The message and every edit of it lose their bodies (and mentions) for good,
    # and its files: never served again once this commits (their bytes go after).
    said_before: dict[str, object] = orjson.loads(target.detail) if target.detail else {}
    kept = {k: v for k, v in said_before.items() if k != "files"}
    change_target(
        conn,
        change.room_id,
        change.target_seq,
        room.seq,
        body=None,
        search_text=None,
        deleted=True,
        reactions=None,
        pinned_seq=None,
        mention_ids=None,
        mentions_room=False,
        detail=dump(kept) if kept else None,
    )
    if said_before.get("files"):
        conn.execute(_FILES_GONE, {"message_id": target.id, "now": now})
    conn.execute(
        update(messages)
        .where(
            messages.c.room_id == change.room_id,
            messages.c.target_seq == change.target_seq,
            messages.c.kind == EDIT,
        )
        .values(body=None, detail=None)
    )
    conn.execute(delete(reactions).where(reactions.c.message_id == target.id))
    mentions.clear_rows(conn, target.id)
    root = None
    if target.thread_seq is not None:
        root = threads.reply_deleted(conn, change.room_id, target.thread_seq, room.seq)
    said: dict[str, object] = {"unpinned": target.pinned}
    if root is not None:
        said["root"] = root
    entry(
        conn,
        room_id=change.room_id,
        seq=room.seq,
        kind=DELETE,
        target_seq=change.target_seq,
        user_id=change.user_id,
        now=now,
        detail=dump(said),
    )
    return StoredDelete(
        change.room_id, room.seq, change.target_seq, change.user_id, change.username, target.pinned, root
    )


def _check_delete(change: Delete, author: int, room: Locked) -> None:
    if change.user_id == author or change.is_admin:
        return
    # The opener of a direct conversation is its owner_id in name only: no power over the other's words.
    if room.kind == DIRECT:
        raise Forbidden("only the author or an admin may delete a message in a direct conversation")
    if change.user_id != room.owner_id:
        raise Forbidden("only the author, the room's owner or an admin may delete a message")
