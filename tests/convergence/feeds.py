"""A client's view of a room, and a socket that feeds it: a task reads every frame,
checks guarantees 2 and 3 on each room's stream (each seq once, in order, no gap;
the sender's duplicate acknowledgements aside), and hands each stream frame to the
rule it is given (tests/convergence/test_convergence.py, `merge`). Sends over the
socket wait for their echo, which the reader sees first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed

from tests.realtime.conftest import TIMEOUT, Client, LiveServer
from tests.realtime.mux import Mux, connect_mux, room_of

Frame = dict[str, Any]
STREAM = {"message", "edit", "delete", "reaction", "pin"}
FOREVER = 3600.0


@dataclass
class View:
    """One room as a client holds it: messages (replies too) by seq, and the entries
    that came for a message not held yet, by the seq of that message."""

    messages: dict[int, Frame] = field(default_factory=dict)
    waiting: dict[int, list[Frame]] = field(default_factory=dict)


Merge = Callable[[View, Frame], None]


class Feed:
    """One socket: a per-room one, or /ws (its frames name their room)."""

    def __init__(
        self, client: Client, user_id: int, since: dict[int, int | None], views: dict[int, View], merge: Merge
    ) -> None:
        self.client = client
        self.user_id = user_id
        self.room = None if isinstance(client, Mux) else next(iter(since))
        self.views = views
        self.merge = merge
        # room -> the last seq received; None until a replay without since shows where it starts.
        self.seen: dict[int, int | None] = dict(since)
        self.floor: dict[int, int] = {r: s for r, s in since.items() if s is not None}  # every entry above it comes
        self.synced: set[int] = set()
        # client_msg_id -> (whether a duplicate's acknowledgement is awaited, its answer)
        self.echoes: dict[str, tuple[bool, asyncio.Future[Frame]]] = {}
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def per_room(
        cls, server: LiveServer, token: str, user_id: int, room: int, since: int | None, view: View, merge: Merge
    ) -> Feed:
        return cls(await server.connect(room, token, since), user_id, {room: since}, {room: view}, merge)

    @classmethod
    async def mux(
        cls,
        server: LiveServer,
        token: str,
        user_id: int,
        since: dict[int, int | None],
        views: dict[int, View],
        merge: Merge,
    ) -> Feed:
        mux = await connect_mux(server, token)
        await mux.subscribe(list(since.items()))
        return cls(mux, user_id, since, views, merge)

    async def _read(self) -> None:
        while True:
            try:
                frame = await self.client.recv(FOREVER)
            except ConnectionClosed:
                return
            room = self.room if self.room is not None else room_of(frame)
            kind = frame["type"]
            if kind in STREAM:
                assert room is not None, frame
                self._count(room, frame)
                self.merge(self.views[room], frame)
                # A resend's answer is the acknowledgement: the original may come by too (a replay).
                repeat, waiter = self.echoes.get(frame.get("client_msg_id") or "", (False, None))
                mine = kind == "message" and frame["user"]["id"] == self.user_id
                if waiter is not None and mine and frame.get("duplicate", False) is repeat:
                    waiter.set_result(frame)
                    del self.echoes[frame["client_msg_id"]]
            elif kind == "synced":
                assert room is not None, frame
                if self.seen[room] is None:
                    self.seen[room] = self.floor[room] = frame["last_seq"]
                assert self.seen[room] == frame["last_seq"] and not frame["truncated"], (self.seen[room], frame)
                self.synced.add(room)
            elif kind == "error":
                _, waiter = self.echoes.pop(frame.get("client_msg_id") or "", (False, None))
                assert waiter is not None, f"an error nobody waits for: {frame}"
                waiter.set_result(frame)

    def _count(self, room: int, frame: Frame) -> None:
        """Guarantees 2 and 3: a connection gets each room's seqs one after another."""
        if frame.get("duplicate"):
            return
        seen = self.seen[room]
        if seen is None:  # the first entry of a replay without since
            seen = self.floor[room] = frame["seq"] - 1
        assert frame["seq"] == seen + 1, (seen, frame)  # each seq once, in order, no gap
        self.seen[room] = frame["seq"]

    async def _until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(TIMEOUT):
            while not done():
                if self.task.done():
                    self.task.result()
                    raise AssertionError("the socket closed")
                await asyncio.sleep(0.005)

    async def send(self, room: int, body: str, cid: str, thread_seq: int | None, *, repeat: bool) -> Frame:
        """A message (a reply with thread_seq) over this socket: its echo, or (`repeat`:
        the client_msg_id was stored before) the duplicate's acknowledgement; or an error frame."""
        waiter: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self.echoes[cid] = (repeat, waiter)
        frame: Frame = {"type": "message", "body": body, "client_msg_id": cid, "thread_seq": thread_seq}
        await self.client.send(frame if self.room is not None else {**frame, "room": room})
        await self._until(waiter.done)
        return waiter.result()

    async def caught_up(self, room: int, last: int) -> None:
        """Every entry up to `last` of the room has been read (and merged)."""
        await self._until(lambda: room in self.synced and (self.seen[room] or 0) >= last)

    async def close(self) -> None:
        await self.client.close()
        await asyncio.wait_for(self.task, TIMEOUT)
