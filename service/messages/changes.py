"""Entries that change a message (edits, deletes): each checked against its target
and stored with the room's next seq, in one transaction under the room's row lock,
like sends. A new kind of change is one more request type and its function here.

The lock comes first, so the checks see every change committed before and none
can slip in between: an edit that races a delete either lands before it (and is
emptied by it) or finds the message deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db import utcnow
from service.errors import Conflict, Forbidden, NotFound
from service.messages.entries import StoredDelete, StoredEdit
from service.messages.models import DELETE, EDIT, MESSAGE
from service.rooms.models import DIRECT
from service.rooms.service import ROOM_NOT_FOUND
from service.search.words import searchable
from service.tables import messages, rooms

MESSAGE_NOT_FOUND = "message not found"


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


Change = Edit | Delete


@dataclass(frozen=True, slots=True)
class _Room:
    seq: int  # the change's own
    owner_id: int
    kind: str


@dataclass(frozen=True, slots=True)
class _Target:
    author: int
    deleted: bool
    created_at: datetime


class _Unchanged(Exception):
    """Deleting what is deleted already: nothing is stored."""


async def apply(engine: AsyncEngine, change: Change) -> StoredEdit | StoredDelete | None:
    """The stored entry, or None when a delete finds the message deleted already.
    Raises NotFound, Forbidden or Conflict, and then stores nothing."""
    try:
        async with engine.begin() as conn:
            room = await _next_seq(conn, change.room_id)
            now = utcnow()  # under the lock: changes' times follow their seqs
            target = await _target(conn, change.room_id, change.target_seq)
            if isinstance(change, Edit):
                return await _edit(conn, change, room, target, now)
            return await _delete(conn, change, room, target, now)
    except _Unchanged:
        return None


async def _next_seq(conn: AsyncConnection, room_id: int) -> _Room:
    """The room's next seq, taken under its row lock (held until commit)."""
    room = (
        await conn.execute(
            update(rooms)
            .where(rooms.c.id == room_id)
            .values(last_seq=rooms.c.last_seq + 1)
            .returning(rooms.c.last_seq, rooms.c.owner_id, rooms.c.kind)
        )
    ).first()
    if room is None:
        raise NotFound(ROOM_NOT_FOUND)
    return _Room(*room)


async def _target(conn: AsyncConnection, room_id: int, target_seq: int) -> _Target:
    target = (
        await conn.execute(
            select(messages.c.user_id, messages.c.deleted, messages.c.created_at).where(
                messages.c.room_id == room_id, messages.c.seq == target_seq, messages.c.kind == MESSAGE
            )
        )
    ).first()
    if target is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    return _Target(*target)


async def _edit(conn: AsyncConnection, edit: Edit, room: _Room, target: _Target, now: datetime) -> StoredEdit:
    if edit.user_id != target.author:
        raise Forbidden("only the author may edit a message")
    if target.deleted:
        raise Conflict("the message was deleted")
    if edit.edit_window is not None and now - target.created_at > edit.edit_window:
        raise Forbidden("the time for editing this message has passed")
    await _entry(conn, edit, room.seq, EDIT, edit.body, now)
    await conn.execute(
        update(messages)
        .where(messages.c.room_id == edit.room_id, messages.c.seq == edit.target_seq)
        .values(body=edit.body, search_text=searchable(edit.body), edited_at=now)
    )
    return StoredEdit(edit.room_id, room.seq, edit.target_seq, edit.user_id, edit.username, edit.body, now)


async def _delete(conn: AsyncConnection, delete: Delete, room: _Room, target: _Target, now: datetime) -> StoredDelete:
    _check_delete(delete, target.author, room)
    if target.deleted:
        raise _Unchanged
    await _entry(conn, delete, room.seq, DELETE, None, now)
    # The message and every edit of it lose their bodies for good.
    of_room = messages.c.room_id == delete.room_id
    await conn.execute(
        update(messages)
        .where(of_room, messages.c.seq == delete.target_seq)
        .values(body=None, search_text=None, deleted=True)
    )
    await conn.execute(
        update(messages)
        .where(of_room, messages.c.target_seq == delete.target_seq, messages.c.kind == EDIT)
        .values(body=None)
    )
    return StoredDelete(delete.room_id, room.seq, delete.target_seq, delete.user_id, delete.username)


def _check_delete(delete: Delete, author: int, room: _Room) -> None:
    if delete.user_id == author or delete.is_admin:
        return
    # The opener of a direct conversation is its owner_id in name only: no power over the other's words.
    if room.kind == DIRECT:
        raise Forbidden("only the author or an admin may delete a message in a direct conversation")
    if delete.user_id != room.owner_id:
        raise Forbidden("only the author, the room's owner or an admin may delete a message")


async def _entry(conn: AsyncConnection, change: Change, seq: int, kind: str, body: str | None, now: datetime) -> None:
    """The change's own row in the room's stream."""
    await conn.execute(
        insert(messages).values(
            room_id=change.room_id,
            seq=seq,
            kind=kind,
            target_seq=change.target_seq,
            user_id=change.user_id,
            body=body,
            created_at=now,
        )
    )
