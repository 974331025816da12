"""What every store does alike with a batch of sends in its one transaction:
repeats of a client_msg_id sorted out, each room's seqs placed below the last_seq
its store reserved under the room's row lock, the senders' read markers moved up
to their last top-level message, and each send's result. The statements are the
stores'; what replies and mentions add is kept here for the results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from service.messages.entries import RoomGone, RootCounts, StoredMessage, StoreResult
from service.messages.store import Pending

Key = tuple[int, int, str]  # (room, user, client_msg_id)
Markers = dict[tuple[int, int], int]  # (room, user) -> read marker
Mentioned = tuple[tuple[int, ...], bool]  # (the users named, @room)


class Sends:
    """One batch of sends: which are new (by room), which repeat another, and the
    seq each new one gets once its room's seqs are reserved."""

    def __init__(
        self, sends: Sequence[Pending], stored: Mapping[Key, StoredMessage], *, looked_up: bool = False
    ) -> None:
        self.sends = sends
        self.looked_up = looked_up  # repeats of earlier batches were looked up (`stored`)
        self._results: list[StoreResult | BaseException | None] = [None] * len(sends)
        self.by_room: dict[int, list[int]] = {}  # the new sends' indexes
        self._repeats: dict[int, int] = {}  # index -> the index of the same send earlier in the batch
        self.placed: list[tuple[int, int]] = []  # (index, seq) of each send to insert
        self._last: dict[tuple[int, int], tuple[int, int]] = {}  # (room, user) -> their last (seq, index)
        self._count: dict[tuple[int, int], int] = {}  # (room, user) -> how many they sent
        self.mentioned: dict[int, Mentioned] = {}  # index -> its mentions, where it makes any
        self.roots: dict[int, RootCounts] = {}  # index -> its root's counts after it, for a reply
        self.files: dict[int, tuple[dict[str, Any], ...]] = {}  # index -> the File objects it attaches
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

    def answer(self, i: int, result: StoreResult | BaseException) -> None:
        """A new send answered before it is placed (refused, or found stored): nothing inserted."""
        self._results[i] = result
        indexes = self.by_room[self.sends[i].room_id]
        indexes.remove(i)
        if not indexes:
            del self.by_room[self.sends[i].room_id]

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
            if sends[i].thread_seq is not None:
                continue  # a reply moves its thread's marker, not the room's
            key = (sends[i].room_id, sends[i].user_id)
            last_of[key] = max((seq, i), last_of.get(key, (0, -1)))
            count[key] = count.get(key, 0) + 1
        return placed

    def marks(self) -> Markers:
        """Sending moves the sender's read marker up to their last top-level message in the room."""
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
        sends, mentioned, roots, files = self.sends, self.mentioned, self.roots, self.files
        for (i, seq), message_id in zip(self.placed, ids, strict=True):
            p = sends[i]
            username = p.username or names[p.user_id]
            if p.thread_seq is None and i not in mentioned and i not in files:
                message = StoredMessage(message_id, p.room_id, seq, p.user_id, username, p.body, p.client_msg_id, now)
            else:
                mentions, mentions_room = mentioned.get(i, ((), False))
                message = StoredMessage(
                    message_id,
                    p.room_id,
                    seq,
                    p.user_id,
                    username,
                    p.body,
                    p.client_msg_id,
                    now,
                    thread_seq=p.thread_seq,
                    mentions=mentions,
                    mentions_room=mentions_room,
                    root=roots.get(i),
                    files=files.get(i, ()),
                )
            results[i] = StoreResult(message, created=True, read_past_others=i in told)
        for i, first in self._repeats.items():
            original = results[first]
            results[i] = StoreResult(original.message, created=False) if isinstance(original, StoreResult) else original
        return [r if r is not None else RuntimeError("not stored") for r in results]
