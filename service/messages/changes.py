"""Edits and deletes: each checked and stored as an event with the room's next
seq, in one transaction under the room's row lock, like messages (batch.py).

The lock comes first, so the checks see every change committed before and none
can slip in between: an edit that races a delete either lands before it (and is
emptied by it) or finds the message deleted."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import utcnow
from service.errors import Conflict, Forbidden, NotFound
from service.messages.entries import StoredDelete, StoredEdit
from service.messages.models import DELETE, EDIT, MESSAGE, Message
from service.rooms.models import DIRECT, Room
from service.rooms.service import ROOM_NOT_FOUND
from service.search.words import searchable

_messages: Table = Message.__table__  # type: ignore[assignment]
_rooms: Table = Room.__table__  # type: ignore[assignment]

MESSAGE_NOT_FOUND = "message not found"


@dataclass(slots=True)
class Change:
    """An edit (`body` set) or a delete (`body` None) of the message at `target_seq`."""

    room_id: int
    target_seq: int
    user_id: int
    username: str
    is_admin: bool
    body: str | None
    edit_window: timedelta | None = None
    future: asyncio.Future[StoredEdit | StoredDelete | None] | None = None


class _Unchanged(Exception):
    """Deleting what is deleted already: nothing is stored."""


async def apply(engine: AsyncEngine, change: Change) -> StoredEdit | StoredDelete | None:
    """The stored event, or None when a delete finds the message deleted already.
    Raises NotFound, Forbidden or Conflict, and then stores nothing."""
    try:
        return await _apply(engine, change)
    except _Unchanged:
        return None


async def _apply(engine: AsyncEngine, change: Change) -> StoredEdit | StoredDelete:
    room_id, target_seq = change.room_id, change.target_seq
    async with engine.begin() as conn:
        room = (
            await conn.execute(
                update(_rooms)
                .where(_rooms.c.id == room_id)
                .values(last_seq=_rooms.c.last_seq + 1)
                .returning(_rooms.c.last_seq, _rooms.c.owner_id, _rooms.c.kind)
            )
        ).first()
        if room is None:
            raise NotFound(ROOM_NOT_FOUND)
        seq, owner_id, room_kind = room
        now = utcnow()  # under the lock: edits' times follow their seqs
        target = (
            await conn.execute(
                select(_messages.c.user_id, _messages.c.deleted, _messages.c.created_at).where(
                    _messages.c.room_id == room_id, _messages.c.seq == target_seq, _messages.c.kind == MESSAGE
                )
            )
        ).first()
        if target is None:
            raise NotFound(MESSAGE_NOT_FOUND)
        author, deleted, created_at = target
        if change.body is not None:
            _check_edit(change, author, deleted, created_at, now)
        else:
            _check_delete(change, author, owner_id, room_kind)
            if deleted:
                raise _Unchanged
        kind = EDIT if change.body is not None else DELETE
        await conn.execute(
            insert(_messages).values(
                room_id=room_id,
                seq=seq,
                kind=kind,
                target_seq=target_seq,
                user_id=change.user_id,
                body=change.body,
                created_at=now,
            )
        )
        of_room = _messages.c.room_id == room_id
        if change.body is not None:
            await conn.execute(
                update(_messages)
                .where(of_room, _messages.c.seq == target_seq)
                .values(body=change.body, search_text=searchable(change.body), edited_at=now)
            )
            return StoredEdit(room_id, seq, target_seq, change.user_id, change.username, change.body, now)
        # The message and every edit of it lose their bodies for good.
        await conn.execute(
            update(_messages)
            .where(of_room, _messages.c.seq == target_seq)
            .values(body=None, search_text=None, deleted=True)
        )
        await conn.execute(
            update(_messages)
            .where(of_room, _messages.c.target_seq == target_seq, _messages.c.kind == EDIT)
            .values(body=None)
        )
        return StoredDelete(room_id, seq, target_seq, change.user_id, change.username)


def _check_delete(change: Change, author: int, owner_id: int, room_kind: str) -> None:
    if change.user_id == author or change.is_admin:
        return
    # The opener of a direct conversation is its owner_id in name only: no power over the other's words.
    if room_kind == DIRECT:
        raise Forbidden("only the author or an admin may delete a message in a direct conversation")
    if change.user_id != owner_id:
        raise Forbidden("only the author, the room's owner or an admin may delete a message")


def _check_edit(change: Change, author: int, deleted: bool, created_at: datetime, now: datetime) -> None:
    if change.user_id != author:
        raise Forbidden("only the author may edit a message")
    if deleted:
        raise Conflict("the message was deleted")
    window = change.edit_window
    if window is not None and now - created_at > window:
        raise Forbidden("the time for editing this message has passed")
