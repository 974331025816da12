"""The random operations of the convergence test: three users in two rooms send,
reply (to any root, valid or not), edit, delete, react, pin and resend, over REST
and over the clients' sockets, one at a time; each answer is checked against the
model (tests/convergence/model.py), which then holds what the server must."""

from __future__ import annotations

import random
from urllib.parse import quote

from tests.convergence.feeds import Feed, Frame
from tests.convergence.model import RoomModel, projection
from tests.realtime.conftest import LiveServer, auth

EMOJI = ["👍", "❤️", ":tada:", "🎉"]
NAMES = ["ann", "bob", "cat"]


class Mix:
    def __init__(self, server: LiveServer, rng: random.Random) -> None:
        self.server = server
        self.rng = rng
        self.users: list[Frame] = []
        self.tokens: list[str] = []
        self.rooms: list[RoomModel] = []
        self.sockets: list[dict[int, Feed]] = [{}, {}, {}]  # per user: room -> an open socket of theirs
        self.count = 0

    async def setup(self) -> None:
        for name in NAMES:
            user, token = await self.server.user(name)
            self.users.append(user)
            self.tokens.append(token)
        for owner in (0, 1):  # a second room, whose seqs are the first one's too
            room = await self.server.room(self.tokens[owner], f"room{owner}")
            self.rooms.append(RoomModel(room["id"], self.users[owner]["id"]))
            for u in range(len(NAMES)):
                r = await self.server.http.post(f"/rooms/{room['id']}/join", headers=auth(self.tokens[u]))
                assert r.status_code == 204, r.text

    async def operate(self) -> None:
        room = self.rooms[0] if self.rng.random() < 0.75 else self.rooms[1]
        u = self.rng.randrange(len(NAMES))
        roll = self.rng.random()
        if roll < 0.16 or not room.messages:
            await self.send(room, u, None)
        elif roll < 0.3:
            await self.send(room, u, self.root(room))
        elif roll < 0.4:
            await self.edit(room, u)
        elif roll < 0.52:
            await self.delete(room, u)
        elif roll < 0.74:
            await self.react(room, u)
        elif roll < 0.88:
            await self.pin(room, u)
        else:
            await self.resend(room, u)

    # Choices -------------------------------------------------------------------------

    def body(self, u: int) -> str:
        self.count += 1
        said = f"{self.count} from {NAMES[u]}"
        roll = self.rng.random()
        return said + (f" @{self.rng.choice(NAMES)}" if roll < 0.2 else " @room" if roll < 0.25 else "")

    def root(self, room: RoomModel) -> int:
        """Mostly a top-level message (deleted ones too); else any seq, or one of the other room's."""
        roll = self.rng.random()
        deleted = [m.seq for m in room.top_level() if m.deleted]
        if deleted and roll < 0.1:
            return self.rng.choice(deleted)
        if roll < 0.7:
            return self.rng.choice([m.seq for m in room.top_level()] or [1])
        if roll < 0.85:
            return self.rng.randint(1, room.last + 2)
        other = self.rooms[1] if room is self.rooms[0] else self.rooms[0]
        return self.rng.choice(list(other.messages) or [1])

    def target(self, room: RoomModel, rather: list[int] | None = None) -> int:
        """A message (a reply, a deleted one; half the time one of `rather`), now and then an event's seq or none."""
        if rather and self.rng.random() < 0.5:
            return self.rng.choice(rather)
        if self.rng.random() < 0.9:
            return self.rng.choice(list(room.messages))
        return self.rng.randint(1, room.last + 2)

    def author_or(self, room: RoomModel, seq: int, u: int, *others: int) -> int:
        """The message's author or one of `others` (user indexes); `u` when there is no message."""
        msg = room.messages.get(seq)
        ids = [user["id"] for user in self.users]
        return self.rng.choice([ids.index(msg.author), *others]) if msg is not None else u

    # Operations ----------------------------------------------------------------------

    async def send(self, room: RoomModel, u: int, thread_seq: int | None, cid: str | None = None) -> None:
        body, user_id = self.body(u), self.users[u]["id"]
        if cid is None and self.rng.random() < 0.9:
            cid = f"c{self.count}"  # each body's number is new
        original = room.messages[room.sent[user_id, cid]] if (user_id, cid) in room.sent else None
        valid = original is not None or thread_seq is None or room.valid_root(thread_seq)
        root = room.messages.get(thread_seq or 0)
        if original is not None:
            room.cases["resend"] += 1
        elif not valid:
            deleted_root = root is not None and root.deleted and root.thread_seq is None
            room.cases["a reply to a deleted root" if deleted_root else "a reply to no root"] += 1
        socket, on_socket = self.sockets[u].get(room.id), self.rng.random() < 0.5  # drawn either way
        if socket is not None and cid is not None and on_socket:
            frame = await socket.send(room.id, body, cid, thread_seq, repeat=original is not None)
            if not valid:
                assert (frame["type"], frame["code"]) == ("error", "invalid_thread"), frame
                return
            assert frame["type"] == "message" and frame.get("duplicate", False) is (original is not None), frame
            got = frame
            room.cases["answered on a socket"] += 1
        else:
            fields = {"client_msg_id": cid, **({"thread_seq": thread_seq} if thread_seq is not None else {})}
            r = await self.server.http.post(
                f"/rooms/{room.id}/messages", json={"body": body, **fields}, headers=auth(self.tokens[u])
            )
            if not valid:
                assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_thread", r.text
                return
            assert r.status_code == (201 if original is None else 200), r.text
            got = r.json()
            room.cases["answered over REST"] += 1
        msg = original or room.stored(user_id, cid, body, thread_seq, got["created_at"])
        assert projection(got) == msg.expected(), (projection(got), msg)

    async def resend(self, room: RoomModel, u: int) -> None:
        """A client_msg_id sent before, whatever the body and thread say now: the original."""
        mine = [cid for (user_id, cid) in room.sent if user_id == self.users[u]["id"]]
        if not mine:
            return await self.send(room, u, None)
        thread_seq = self.root(room) if self.rng.random() < 0.3 else None
        await self.send(room, u, thread_seq, self.rng.choice(mine))

    async def edit(self, room: RoomModel, u: int) -> None:
        seq = self.target(room, [m.seq for m in room.messages.values() if m.thread_seq and not m.deleted])
        editor = self.author_or(room, seq, u, *([u] if self.rng.random() < 0.2 else []))
        body = self.body(editor)
        status = room.edit(self.users[editor]["id"], seq, body)
        r = await self.server.http.patch(
            f"/rooms/{room.id}/messages/{seq}", json={"body": body}, headers=auth(self.tokens[editor])
        )
        assert r.status_code == status, (r.text, status)
        if status == 200:
            assert projection(r.json()) == room.messages[seq].expected()

    async def delete(self, room: RoomModel, u: int) -> None:
        marked = [m.seq for m in room.messages.values() if m.pinned_seq or m.reactions]
        threaded = [m.seq for m in room.messages.values() if m.thread_seq or m.reply_count]
        seq = self.target(room, self.rng.choice([marked, threaded]))
        owner = next(i for i, user in enumerate(self.users) if user["id"] == room.owner)
        who = self.author_or(room, seq, u, *self.rng.choice([[], [owner], [u]]))
        status = room.delete(self.users[who]["id"], seq)
        r = await self.server.http.delete(f"/rooms/{room.id}/messages/{seq}", headers=auth(self.tokens[who]))
        assert r.status_code == status, (r.text, status)

    async def react(self, room: RoomModel, u: int) -> None:
        add = self.rng.random() < 0.6
        seq = self.target(room, [m.seq for m in room.messages.values() if m.deleted and add])
        emoji = self.rng.choice(EMOJI)
        had = [(m.seq, e, user) for m in room.messages.values() for e, users in m.reactions for user in users]
        if had and self.rng.random() < 0.6:  # one that is there: removed, or added again
            seq, emoji, user_id = self.rng.choice(had)
            u = next(i for i, user in enumerate(self.users) if user["id"] == user_id)
        status = room.react(self.users[u]["id"], seq, emoji, add)
        url = f"/rooms/{room.id}/messages/{seq}/reactions/{quote(emoji, safe='')}"
        r = await (self.server.http.put if add else self.server.http.delete)(url, headers=auth(self.tokens[u]))
        assert r.status_code == status, (r.text, status)

    async def pin(self, room: RoomModel, u: int) -> None:
        add = self.rng.random() < 0.6
        seq = self.target(room, [m.seq for m in room.messages.values() if m.pinned_seq and not add])
        status = room.pin(self.users[u]["id"], seq, add)
        url = f"/rooms/{room.id}/pins/{seq}"
        r = await (self.server.http.put if add else self.server.http.delete)(url, headers=auth(self.tokens[u]))
        assert r.status_code == status, (r.text, status)

    # The server's state, read fresh -------------------------------------------------

    async def fresh(self, room: RoomModel) -> dict[int, Frame]:
        """Every message of the room in its current state: history, then each thread."""
        token = self.tokens[self.rng.randrange(len(NAMES))]
        found: dict[int, Frame] = {m["seq"]: m for m in await self.server.history(token, room.id)}
        for root in list(found):
            after = 0
            while True:
                r = await self.server.http.get(
                    f"/rooms/{room.id}/threads/{root}", params={"after_seq": after, "limit": 200}, headers=auth(token)
                )
                assert r.status_code == 200, r.text
                page = r.json()
                assert page["root"] == found[root]
                found.update((m["seq"], m) for m in page["items"])
                if not page["has_more"]:
                    break
                after = page["items"][-1]["seq"]
        return dict(sorted(found.items()))


def expected(room: RoomModel) -> dict[int, Frame]:
    return {seq: msg.expected() for seq, msg in sorted(room.messages.items())}
