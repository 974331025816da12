"""Entries that change a message (edits, deletes, reactions, pins): each checked
against its target and stored with the room's next seq, in one transaction under
the room's row lock, like sends. A new kind of change is one more request type
and its function (edits.py, reactions.py, pins.py), dispatched here.

The lock comes first, so the checks see every change committed before and none
can slip in between: an edit that races a delete either lands before it (and is
emptied by it) or finds the message deleted."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import utcnow
from service.messages.change_steps import Unchanged, next_seq, target
from service.messages.edits import Delete, Edit, delete_message, edit
from service.messages.entries import ChangeEntry
from service.messages.pins import Pin, pin
from service.messages.reactions import React, react

Change = Edit | Delete | React | Pin


async def apply(engine: AsyncEngine, change: Change) -> ChangeEntry | None:
    """The stored entry, or None when the change would change nothing (a delete of
    a deleted message, a reaction the user has already, a pin of a pinned message).
    Raises NotFound, Forbidden or Conflict, and then stores nothing."""
    try:
        async with engine.begin() as conn:
            room = await next_seq(conn, change.room_id)
            now = utcnow()  # under the lock: changes' times follow their seqs
            found = await target(conn, change.room_id, change.target_seq)
            match change:
                case Edit():
                    return await edit(conn, change, room, found, now)
                case Delete():
                    return await delete_message(conn, change, room, found, now)
                case React():
                    return await react(conn, change, room, found, now)
                case Pin():
                    return await pin(conn, change, room, found, now)
    except Unchanged:
        return None
