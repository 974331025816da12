"""The two clients of the convergence test that come and go (the third keeps one /ws
socket open from the start). Each builds its views of both rooms only from what it
reads, through the rule it is given; `sockets` is where the test finds a user's open
socket to send on."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from tests.convergence.feeds import Feed, Frame, Merge, View
from tests.convergence.model import RoomModel
from tests.realtime.conftest import LiveServer, auth

Page = tuple[int, str, Frame, int | None]  # (room, kind, the page, its after_seq)


def below(fraction: float, high: int) -> int:
    """A seq from 0 to `high` by a draw taken beforehand: how many draws a client takes
    must not hang on how far its sockets have read, or a seed would not replay."""
    return int(fraction * (high + 1))


class _Client:
    """What each client is given: a user, its rooms, the rule, and a view per room."""

    def __init__(
        self,
        server: LiveServer,
        token: str,
        user_id: int,
        rooms: list[RoomModel],
        merge: Merge,
        sockets: dict[int, Feed],
        rng: random.Random,
    ) -> None:
        self.server, self.token, self.user_id, self.rooms, self.merge = server, token, user_id, rooms, merge
        self.sockets, self.rng = sockets, rng
        self.views = {room.id: View() for room in rooms}


class Reconnecting(_Client):
    """Per-room sockets opened midway with a random `since` (or none: the newest
    messages), closed, and opened again from a random seq at or below the last one
    read, so each replay repeats entries it has merged already."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.read: dict[int, int] = {}  # room -> the last seq read, over every connection
        self.floor: dict[int, int] = {}  # room -> every message above it is held
        self.reconnected = False

    async def step(self, step: int, steps: int) -> None:
        roll = self.rng.random()
        if not self.sockets:
            if (not self.read and step >= steps // 4 and roll < 0.1) or (self.read and roll < 0.15):
                await self.connect()
        elif roll < 0.04 or (not self.reconnected and step >= steps * 2 // 3):
            await self.disconnect()

    async def connect(self) -> None:
        self.reconnected = bool(self.read)
        for room in self.rooms:
            where, none = self.rng.random(), self.rng.random()
            if room.id in self.read:
                since: int | None = below(where, self.read[room.id])
            else:
                since = None if none < 0.3 else below(where, room.last)
            view = self.views[room.id]
            self.sockets[room.id] = await Feed.per_room(
                self.server, self.token, self.user_id, room.id, since, view, self.merge
            )

    async def disconnect(self) -> None:
        for room_id, feed in list(self.sockets.items()):
            await feed.close()
            del self.sockets[room_id]
            if room_id in feed.floor:  # else nothing came, not even where its replay starts
                self.floor[room_id] = min(self.floor.get(room_id, feed.floor[room_id]), feed.floor[room_id])
                self.read[room_id] = max(self.read.get(room_id, 0), feed.seen[room_id] or 0)

    async def finish(self) -> None:
        if not self.sockets:
            await self.connect()
        for room in self.rooms:
            await self.sockets[room.id].caught_up(room.id, room.last)
        await self.disconnect()


class Mixer(_Client):
    """REST pages with random cursors (history, threads, the events page, the pins),
    each merged some steps after it was read, in random order, beside one /ws socket
    that it opens, closes and resumes.

    Entries are merged only from a stream without a gap from what the client has:
    its socket (resumed at or below the last seq it read), or an events page whose
    `after_seq` is at or below that seq. A page beyond it gives its messages only."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.feed: Feed | None = None
        self.covered: dict[int, int] = {}  # room -> every entry up to it merged (or in a copy held)
        self.first_read: dict[int, int] = {}  # room -> its last seq when a page was first read
        self.floor: dict[int, int] = {}  # room -> every message above it is held
        self.asked: list[asyncio.Task[None]] = []  # pages on their way
        self.pending: list[Page] = []  # answered, not merged yet
        self.slow: list[Page] = []  # answered, merged only at the end

    def last_read(self, room_id: int) -> int | None:
        seen = self.feed.seen.get(room_id) if self.feed is not None else None
        got = [s for s in (self.covered.get(room_id), seen) if s is not None]
        return max(got) if got else None

    async def step(self, step: int, steps: int) -> None:
        if not self.first_read and step < steps // 4:
            return  # it comes later, to a history it has to page
        roll, which = self.rng.random(), self.rng.random()
        if self.feed is None and roll < 0.08:
            await self.connect()
        elif self.feed is not None and roll < 0.02:
            await self.disconnect()
        elif roll < 0.45:
            self.page()
        elif self.pending and roll < 0.8:
            self.apply(*self.pending.pop(below(which, len(self.pending) - 1)))

    async def connect(self) -> None:
        since: dict[int, int | None] = {}
        for room in self.rooms:
            bound, where = self.last_read(room.id), self.rng.random()
            if bound is not None:  # resumed at or below what it has read: no gap
                start = below(where, bound)
            else:  # the first socket, from at or below where pages were first read (their copies are as of then)
                first = min(room.last, self.first_read.get(room.id, room.last))
                start = first // 2 + below(where, first - first // 2)  # the older messages come from pages alone
            since[room.id] = start
            self.covered[room.id] = max(self.covered.get(room.id, start), start)
            self.floor[room.id] = min(self.floor.get(room.id, start), start)
        self.feed = await Feed.mux(self.server, self.token, self.user_id, since, self.views, self.merge)
        self.sockets.update((room.id, self.feed) for room in self.rooms)

    async def disconnect(self) -> None:
        assert self.feed is not None
        self.covered = {room.id: self.last_read(room.id) or 0 for room in self.rooms}
        await self.feed.close()
        self.feed = None
        self.sockets.clear()

    def page(self) -> None:
        """Ask for a page; it is answered while the mix goes on, and merged later."""
        room = self.rng.choice(self.rooms)
        self.first_read.setdefault(room.id, room.last)  # the page is as of then or later
        kind = self.rng.choice(["history", "history", "thread", "events", "events", "pins"])
        after = None
        if kind == "events" or self.rng.random() < 0.4:  # anywhere, or among the newest (a catch-up)
            after = (
                self.rng.randint(0, room.last)
                if self.rng.random() < 0.5
                else self.rng.randint(max(0, room.last - 12), room.last)
            )
        params: dict[str, int] = {"limit": self.rng.randint(1, 25)}
        if after is not None:
            params["after_seq"] = after
        if kind == "history" and after is None and self.rng.random() < 0.5:
            params["before_seq"] = self.rng.randint(1, room.last + 1)
        path = {"history": "messages", "events": "events", "pins": "pins"}.get(kind)
        if kind == "thread":
            roots = [m.seq for m in room.top_level()]
            if not roots:
                return
            path = f"threads/{self.rng.choice(roots)}"
        answered = self.slow if self.rng.random() < 0.3 else self.pending
        self.asked.append(asyncio.create_task(self._get(room.id, kind, f"/rooms/{room.id}/{path}", params, answered)))

    async def _get(self, room_id: int, kind: str, url: str, params: dict[str, int], answered: list[Page]) -> None:
        r = await self.server.http.get(url, params=params, headers=auth(self.token))
        assert r.status_code == 200, r.text
        answered.append((room_id, kind, r.json(), params.get("after_seq")))

    def apply(self, room_id: int, kind: str, page: Frame, after: int | None) -> None:
        view = self.views[room_id]
        if kind == "thread":
            self.merge(view, page["root"])
        if kind != "events":
            for item in page["items"]:
                self.merge(view, item)
            return
        last = self.last_read(room_id)
        assert after is not None
        if after == 0 or (last is not None and after <= last):
            for frame in page["items"]:
                self.merge(view, frame)
            self.covered[room_id] = max([last or 0, after, *(f["seq"] for f in page["items"])])
        else:  # a gap before it: its message frames are copies still, their `root` an entry
            for frame in page["items"]:
                if frame["type"] == "message":
                    self.merge(view, {k: v for k, v in frame.items() if k != "root"})

    async def finish(self) -> None:
        if self.feed is None:
            await self.connect()
        assert self.feed is not None
        for room in self.rooms:
            await self.feed.caught_up(room.id, room.last)
        await asyncio.gather(*self.asked)
        late = self.pending + self.slow  # read long ago, older than what the socket brought since
        self.rng.shuffle(late)
        for page in late:
            self.apply(*page)
        await self.disconnect()
