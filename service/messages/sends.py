"""What every store does alike with a batch of sends in its one transaction:
repeats of a client_msg_id sorted out, each room's seqs placed below the last_seq
its store reserved under the room's row lock, the senders' read markers moved up
to their last message, and each send's result. The statements are the stores'."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db import utcnow
from service.messages.entries import RoomGone, StoredMessage, StoreResult
from service.messages.store import Pending
from service.messages.stream_reads import STORED
from service.tables import messages, users

Key = tuple[int, int, str]  # (room, user, client_msg_id)
Markers = dict[tuple[int, int], int]  # (room, user) -> read marker


class Sends:
    """One batch of sends: which are new (by room), which repeat another, and the
    seq each new one gets once its room's seqs are reserved."""

    def __init__(self, sends: Sequence[Pending], stored: Mapping[Key, StoredMessage]) -> None:
        self.sends = sends
        self._results: list[StoreResult | BaseException | None] = [None] * len(sends)
        self.by_room: dict[int, list[int]] = {}  # the new sends' indexes
        self._repeats: dict[int, int] = {}  # index -> the index of the same send earlier in the batch
        self.placed: list[tuple[int, int]] = []  # (index, seq) of each send to insert
        self._last: dict[tuple[int, int], tuple[int, int]] = {}  # (room, user) -> their last (seq, index)
        self._count: dict[tuple[int, int], int] = {}  # (room, user) -> how many they sent
        results, by_room, repeats = self._results, self.by_room, self._repeats
        first_of: dict[Key, int] = {}
        for i, p in enumerate(sends):
            if p.client_msg_id is not None:
                key = (p.room_id, p.user_id, p.client_msg_id)
                if key in stored:
                    results[i] = StoreResult(stored[key], created=False)
                    continue
                if key in first_of:
                    repeats[i] = first_of[key]
                    continue
                first_of[key] = i
            by_room.setdefault(p.room_id, []).append(i)

    def counts(self) -> dict[int, int]:
        """The seqs each room needs."""
        return {room_id: len(indexes) for room_id, indexes in self.by_room.items()}

    def senders(self) -> set[tuple[int, int]]:
        """(room, user) of every new send."""
        sends = self.sends
        return {(sends[i].room_id, sends[i].user_id) for indexes in self.by_room.values() for i in indexes}

    def place(self, lasts: Mapping[int, int]) -> list[tuple[int, int]]:
        """(index, seq) of each new send whose room exists, from each room's new
        last_seq; RoomGone for the others."""
        placed, sends, last_of, count = self.placed, self.sends, self._last, self._count
        for room_id in sorted(self.by_room):
            indexes = self.by_room[room_id]
            last = lasts.get(room_id)
            if last is None:
                for i in indexes:
                    self._results[i] = RoomGone(room_id)
                continue
            placed += [(i, seq) for seq, i in enumerate(indexes, start=last - len(indexes) + 1)]
        for i, seq in placed:
            key = (sends[i].room_id, sends[i].user_id)
            last_of[key] = max((seq, i), last_of.get(key, (0, -1)))
            count[key] = count.get(key, 0) + 1
        return placed

    def marks(self) -> Markers:
        """Sending moves the sender's read marker up to their last message in the room."""
        return {key: seq for key, (seq, _) in self._last.items()}

    def unnamed(self) -> set[int]:
        """Users whose name the results need looked up."""
        return {self.sends[i].user_id for i, _ in self.placed if not self.sends[i].username}

    def results(
        self, ids: Sequence[int], now: datetime, *, before: Markers, names: Mapping[int, str]
    ) -> list[StoreResult | BaseException]:
        """A result per send, from the placed sends' ids (in `placed` order) and the
        senders' markers `before` they moved."""
        results = self._results
        # A marker that moved past entries not the sender's: their devices are told
        # (docs/protocol.md, "Read markers and unread counts").
        told = {i for key, (seq, i) in self._last.items() if key in before and seq - before[key] > self._count[key]}
        sends = self.sends
        for (i, seq), message_id in zip(self.placed, ids, strict=True):
            p = sends[i]
            message = StoredMessage(
                message_id, p.room_id, seq, p.user_id, p.username or names[p.user_id], p.body, p.client_msg_id, now
            )
            results[i] = StoreResult(message, created=True, read_past_others=i in told)
        for i, first in self._repeats.items():
            original = results[first]
            results[i] = StoreResult(original.message, created=False) if isinstance(original, StoreResult) else original
        return [r if r is not None else RuntimeError("not stored") for r in results]


# A dialect's statements for a batch in the caller's transaction: the seqs reserved
# and placed (Sends.place), the rows inserted, the markers moved; the new rows' ids
# in `placed` order and the senders' markers from before.
Write = Callable[[AsyncConnection, Sends, datetime], Awaitable[tuple[Sequence[int], Markers]]]


async def through_sqlalchemy(
    engine: AsyncEngine, sends: Sequence[Pending], *, look_up_repeats: bool, write: Write
) -> list[StoreResult | BaseException]:
    """A batch in a SQLAlchemy transaction, looking up what the sends do not say:
    messages stored before under their client_msg_ids, and senders' names."""
    async with engine.begin() as conn:
        batch = Sends(sends, await _stored(conn, sends) if look_up_repeats else {})
        now = utcnow()
        if not batch.by_room:
            return batch.results((), now, before={}, names={})
        ids, before = await write(conn, batch, now)
        return batch.results(ids, now, before=before, names=await _usernames(conn, batch.unnamed()))


async def _stored(conn: AsyncConnection, sends: Sequence[Pending]) -> dict[Key, StoredMessage]:
    """Messages already stored under the sends' client_msg_ids."""
    wanted = {(p.room_id, p.user_id, p.client_msg_id) for p in sends if p.client_msg_id is not None}
    if not wanted:
        return {}
    rows = await conn.execute(
        STORED.where(tuple_(messages.c.room_id, messages.c.user_id, messages.c.client_msg_id).in_(list(wanted)))
    )
    return {(r.room_id, r.user_id, r.client_msg_id): StoredMessage(*tuple(r)) for r in rows}


async def _usernames(conn: AsyncConnection, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = await conn.execute(select(users.c.id, users.c.username).where(users.c.id.in_(user_ids)))
    return {r.id: r.username for r in rows}
