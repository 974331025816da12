"""What the writer asks of the database: one small interface, implemented once per
dialect (sqlite_store.py, postgres_store.py) and chosen when the writer starts
(batch.py). Whatever the dialect, every entry takes its room's next `seq` under
the room's row lock, so a room's stream is gapless and in commit order."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import IntegrityError

from service.messages.changes import Change, Outcome
from service.messages.entries import StoreResult


class LookUpRepeats(Exception):
    """A reply to no valid root that carries a client_msg_id: it may be the resend
    of a reply stored before its root went, which only a look-up can tell."""


# A client_msg_id that may have been stored before, when repeats are not looked up:
# the unique constraint (through SQLAlchemy or straight from SQLite's driver), or
# a refused reply's (LookUpRepeats). The batch is stored again, looking them up.
REPEATED = (IntegrityError, sqlite3.IntegrityError, LookUpRepeats)


@dataclass(slots=True)
class Pending:
    """A message on its way to the store (`username` None: looked up with it)."""

    room_id: int
    user_id: int
    username: str | None
    body: str
    client_msg_id: str | None
    future: asyncio.Future[StoreResult] | None = None  # the writer's answer to the sender
    thread_seq: int | None = None  # a reply's root
    files: tuple[int, ...] = ()  # ids of the sender's uploads it attaches


def needs_more(sends: Sequence[Pending]) -> bool:
    """Whether a batch holds replies or files or may mention someone: then it costs a few
    statements more than a plain one (send_extras.py)."""
    return any(p.thread_seq is not None or p.files or "@" in p.body for p in sends)


class EntryStore(Protocol):
    async def store_sends(
        self, *, sends: Sequence[Pending], look_up_repeats: bool
    ) -> list[StoreResult | BaseException]:
        """The sends in one transaction: a result (or RoomGone, InvalidThread) per send, in order.
        A repeat of an earlier send of the batch is answered with that one's result.
        Without `look_up_repeats`, a client_msg_id stored before raises one of
        REPEATED instead of costing a query on every batch."""
        ...

    async def apply_changes(self, *, changes: Sequence[Change]) -> list[Outcome]:
        """The changes in order in one transaction, each an entry of its own: an
        outcome per change (its entry; None when it changes nothing; what its checks
        refused, having stored nothing). Raises what fails them all."""
        ...

    async def close(self) -> None:
        """Give back what the store holds between batches (the writer stopped)."""
        ...
