"""A seeded random mix of messages, edits, deletes, resends and reads from several users
in several rooms, checked against the test's own model of every stream and marker:
unread counts by brute force, the stream over GET /events, history, and what each
/ws socket was sent live."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.realtime.conftest import LiveServer, auth
from tests.realtime.mux import Mux, connect_mux
from tests.streams import Frame, delete, edit, events, join, mark, mux_replayed, my_rooms

USERS = 4  # user 0 owns the rooms; the last user is a member of room 0 only
ROOMS = 3
OPERATIONS = 300


@dataclass
class RoomModel:
    id: int
    stream: list[Frame] = field(default_factory=list)  # current state, as GET /events shows it
    live: list[Frame] = field(default_factory=list)  # as broadcast when it happened
    active: int = 0  # the operation that last added to the stream

    @property
    def last(self) -> int:
        return len(self.stream)

    def messages(self) -> list[Frame]:
        return [f for f in self.stream if f["type"] == "message"]

    def append(self, frame: Frame, step: int) -> None:
        assert frame["seq"] == self.last + 1, (frame, self.last)
        self.stream.append(dict(frame))
        self.live.append(dict(frame))
        self.active = step


class Mix:
    def __init__(self, server: LiveServer, seed: int) -> None:
        self.server = server
        self.rng = random.Random(seed)
        self.users: list[Frame] = []
        self.tokens: list[str] = []
        self.muxes: list[Mux] = []
        self.rooms: list[RoomModel] = []
        self.markers: dict[tuple[int, int], int] = {}  # (user index, room index) -> marker, members only
        self.cids = 0

    async def setup(self) -> None:
        for i in range(USERS):
            user, token = await self.server.user(f"user{i}")
            self.users.append(user)
            self.tokens.append(token)
        for r in range(ROOMS):
            self.rooms.append(RoomModel((await self.server.room(self.tokens[0], f"room{r}"))["id"]))
            for u in range(USERS):
                if u == 0 or u < USERS - 1 or r == 0:
                    assert (await join(self.server, self.tokens[u], self.rooms[r].id)).status_code == 204
                    self.markers[u, r] = 0
        for token in self.tokens:
            mux = await connect_mux(self.server, token)
            await mux.subscribe([(room.id, 0) for room in self.rooms])
            for room in self.rooms:
                await mux_replayed(mux, room.id)
            self.muxes.append(mux)

    async def send(self, step: int, u: int, r: int) -> None:
        room = self.rooms[r]
        self.cids += 1
        cid = f"c{self.cids}"
        echo = await self.muxes[u].said(room.id, f"body {self.cids} by user{u}", cid)
        assert echo["type"] == "message" and not echo.get("duplicate"), echo
        room.append({k: v for k, v in echo.items() if k != "room"}, step)
        if (u, r) in self.markers:
            self.markers[u, r] = max(self.markers[u, r], echo["seq"])

    async def resend(self, u: int, r: int) -> None:
        room = self.rooms[r]
        own = [m for m in room.messages() if m["user"]["id"] == self.users[u]["id"]]
        if not own:
            return
        original = self.rng.choice(own)
        answer = await self.muxes[u].said(room.id, "whatever", original["client_msg_id"])
        assert answer["duplicate"] is True and {k: v for k, v in answer.items() if k not in ("room", "duplicate")} == (
            original
        )

    async def edit(self, step: int, u: int, r: int) -> None:
        room = self.rooms[r]
        target = self.rng.choice(room.messages())
        author = next(i for i, user in enumerate(self.users) if user["id"] == target["user"]["id"])
        editor = author if self.rng.random() < 0.8 else u
        body = f"edit {step} by user{editor}"
        resp = await edit(self.server, self.tokens[editor], room.id, target["seq"], body)
        if editor != author:
            assert resp.status_code == 403, resp.text
        elif target["deleted"]:
            assert resp.status_code == 409, resp.text
        else:
            assert resp.status_code == 200, resp.text
            edited_at = resp.json()["edited_at"]
            target.update(body=body, edited_at=edited_at, updated_seq=room.last + 1)
            user = {"id": self.users[editor]["id"], "username": f"user{editor}"}
            event = {"type": "edit", "seq": room.last + 1, "target_seq": target["seq"], "body": body}
            room.append({**event, "edited_at": edited_at, "user": user, "mentions": [], "mentions_room": False}, step)
            assert resp.json() == {k: v for k, v in target.items() if k != "type"}

    async def delete(self, step: int, u: int, r: int) -> None:
        room = self.rooms[r]
        target = self.rng.choice(room.messages())
        author = next(i for i, user in enumerate(self.users) if user["id"] == target["user"]["id"])
        who = self.rng.choice([author, 0, u])
        resp = await delete(self.server, self.tokens[who], room.id, target["seq"])
        if who not in (author, 0):
            assert resp.status_code == 403, resp.text
            return
        assert resp.status_code == 204, resp.text
        if target["deleted"]:
            return  # nothing new in the stream
        target.update(body=None, deleted=True, updated_seq=room.last + 1)
        for frame in room.stream:
            if frame["type"] == "edit" and frame["target_seq"] == target["seq"]:
                frame["body"] = None
        user = {"id": self.users[who]["id"], "username": f"user{who}"}
        delete_frame = {"type": "delete", "seq": room.last + 1, "target_seq": target["seq"], "user": user}
        room.append({**delete_frame, "unpinned": False}, step)

    async def read(self, u: int, r: int) -> None:
        room = self.rooms[r]
        seq = self.rng.randint(0, room.last + 3)
        if self.rng.random() < 0.5:
            assert (await mark(self.server, self.tokens[u], room.id, seq)).status_code == 204
        else:
            await self.muxes[u].send({"type": "read", "room": room.id, "seq": seq})
            await self.muxes[u].pong()  # the socket's frames are handled in order: the read is done
        if (u, r) in self.markers:
            self.markers[u, r] = max(self.markers[u, r], min(seq, room.last))

    async def run(self) -> None:
        for step in range(1, OPERATIONS + 1):
            u, r = self.rng.randrange(USERS), self.rng.randrange(ROOMS)
            roll = self.rng.random()
            if roll < 0.4 or not self.rooms[r].messages():
                await self.send(step, u, r)
            elif roll < 0.58:
                await self.edit(step, u, r)
            elif roll < 0.7:
                await self.delete(step, u, r)
            elif roll < 0.75:
                await self.resend(u, r)
            else:
                await self.read(u, r)

    def unread(self, u: int, r: int) -> int:
        """Brute force: messages of others above the marker, not deleted."""
        me = self.users[u]["id"]
        marker = self.markers[u, r]
        return sum(
            1 for m in self.rooms[r].messages() if m["user"]["id"] != me and m["seq"] > marker and not m["deleted"]
        )


@pytest.mark.parametrize("seed", [13, 2026])
async def test_a_random_mix_matches_the_model(server: LiveServer, seed: int) -> None:
    mix = Mix(server, seed)
    await mix.setup()
    await mix.run()
    for mux in mix.muxes:
        await mux.pong()
    kinds = [f["type"] for room in mix.rooms for f in room.stream]
    assert min(kinds.count("message"), kinds.count("edit"), kinds.count("delete")) >= 15, kinds

    for u, token in enumerate(mix.tokens):
        items = await my_rooms(server, token)
        member_of = sorted((r for r in range(ROOMS) if (u, r) in mix.markers), key=lambda r: (-mix.rooms[r].active, -r))
        assert [i["room"]["id"] for i in items] == [mix.rooms[r].id for r in member_of], u
        for item, r in zip(items, member_of, strict=True):
            assert item["last_read_seq"] == mix.markers[u, r], (u, r)
            assert item["unread"] == mix.unread(u, r), (u, r)
            assert item["room"]["last_seq"] == mix.rooms[r].last

    for room in mix.rooms:
        assert await events(server, mix.tokens[1], room.id, limit=37) == room.stream
        history = await server.history(mix.tokens[2], room.id)
        assert [{"type": "message", **m} for m in history] == room.messages()
        for mux in mix.muxes:
            live = [f for f in mux.about(room.id) if f["type"] in ("message", "edit", "delete")]
            expected: list[dict[str, Any]] = [{**f, "room": room.id} for f in room.live]
            assert [f for f in live if not f.get("duplicate")] == expected
    r = await server.http.get(f"/rooms/{mix.rooms[0].id}", headers=auth(mix.tokens[0]))
    assert r.json()["last_seq"] == mix.rooms[0].last
