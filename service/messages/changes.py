"""Entries that change a message (edits, deletes, reactions, pins): each checked
against its target and stored with the room's next seq, in one transaction under
the room's row lock, like sends. A new kind of change is one more request type
and its function (edits.py, reactions.py, pins.py), dispatched here.

The lock comes first, so the checks see every change committed before and none
can slip in between: an edit that races a delete either lands before it (and is
emptied by it) or finds the message deleted.

The changes queued together share one transaction, each in a savepoint, as
messages share theirs (group commit). The steps are synchronous SQLAlchemy: on
SQLite the transaction runs whole in a worker thread on a connection of its own
(one hand-off, not three or four per statement); elsewhere within the async
engine's transaction (run_sync)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import utcnow
from service.errors import ServiceError
from service.messages.change_steps import Unchanged, next_seq, target
from service.messages.edits import Delete, Edit, delete_message, edit
from service.messages.entries import ChangeEntry
from service.messages.pins import Pin, pin
from service.messages.reactions import React, react

Change = Edit | Delete | React | Pin


# A change's outcome: its entry, None when it changes nothing, or what its checks refused.
Outcome = ChangeEntry | None | ServiceError


async def apply(engine: AsyncEngine, changes: Sequence[Change]) -> list[Outcome]:
    """The changes in order, in one transaction, an outcome each (a delete of a
    deleted message, a reaction the user has already, a pin of a pinned message
    change nothing: None). A refused change stores nothing. Raises only what
    fails the whole transaction."""
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(_apply_all, changes)
    except (Unchanged, ServiceError) as exc:
        return _alone(changes, exc)


def apply_in_thread(engine: Engine, changes: Sequence[Change]) -> list[Outcome]:
    """As apply(), on a synchronous engine, for a worker thread."""
    try:
        with engine.begin() as conn:
            return _apply_all(conn, changes)
    except (Unchanged, ServiceError) as exc:
        return _alone(changes, exc)


def _apply_all(conn: Connection, changes: Sequence[Change]) -> list[Outcome]:
    if len(changes) == 1:  # the transaction is its savepoint: a refusal rolls it back
        return [_apply(conn, changes[0])]
    outcomes: list[Outcome] = []
    for change in changes:
        try:
            with conn.begin_nested():  # a refused or empty change gives its seq back
                outcomes.append(_apply(conn, change))
        except Unchanged:
            outcomes.append(None)
        except ServiceError as exc:
            outcomes.append(exc)
    return outcomes


def _alone(changes: Sequence[Change], exc: Unchanged | ServiceError) -> list[Outcome]:
    """A lone change's refusal, raised out of its transaction to roll it back."""
    if len(changes) != 1:
        raise exc
    return [None if isinstance(exc, Unchanged) else exc]


def _apply(conn: Connection, change: Change) -> ChangeEntry:
    room = next_seq(conn, change.room_id)
    if isinstance(change, React):
        return react(conn, change, room)  # reads its target its own way
    now = utcnow()  # under the lock: changes' times follow their seqs
    found = target(conn, change.room_id, change.target_seq)
    match change:
        case Edit():
            return edit(conn, change, room, found, now)
        case Delete():
            return delete_message(conn, change, room, found, now)
        case Pin():
            return pin(conn, change, room, found, now)
