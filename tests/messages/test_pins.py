"""SPEC 3.7 and guarantee 10: pins by members (and admins), each an entry of the
stream; at most 100 a room; a delete unpins and says so."""

from __future__ import annotations

from sqlalchemy import update

from service.messages.store import Pending
from service.tables import messages
from tests.realtime.conftest import LiveServer, auth
from tests.storing import store_batch
from tests.streams import admin, delete, events, join, last_seq, next_entry, pin, post, replayed


async def _pins(server: LiveServer, token: str, room: int) -> list[int]:
    r = await server.http.get(f"/rooms/{room}/pins", headers=auth(token))
    assert r.status_code == 200, r.text
    return [m["seq"] for m in r.json()["items"]]


async def test_members_and_admins_pin_and_unpin_and_every_socket_sees_it(server: LiveServer) -> None:
    alice, alice_token = await server.user("alice")
    _, bob_token = await server.user("bob")
    _, root_token = await admin(server, "root")
    room = (await server.room(alice_token, "general"))["id"]
    await post(server, alice_token, room, "one", "two")  # 1, 2
    watcher = await server.connect(room, bob_token, since=2)
    await replayed(watcher)

    assert await pin(server, bob_token, room, 1) == 403  # reads the public room, no member
    assert await pin(server, alice_token, room, 1) == 204  # 3
    assert await pin(server, alice_token, room, 1) == 204  # pinned already: nothing
    assert await pin(server, root_token, room, 2) == 204  # 4: an admin, no member
    assert (await join(server, bob_token, room)).status_code == 204
    assert await pin(server, bob_token, room, 2, add=False) == 204  # 5
    assert await pin(server, bob_token, room, 2, add=False) == 204  # not pinned: nothing
    assert await pin(server, bob_token, room, 9) == 404
    assert await last_seq(server, bob_token, room) == 5
    live = [await next_entry(watcher) for _ in range(3)]
    assert [(f["type"], f["seq"], f["target_seq"], f["op"]) for f in live] == [
        ("pin", 3, 1, "add"),
        ("pin", 4, 2, "add"),
        ("pin", 5, 2, "remove"),
    ]
    assert live[0] == {
        "type": "pin",
        "seq": 3,
        "target_seq": 1,
        "op": "add",
        "user": {"id": alice["id"], "username": "alice"},
    }
    stream = await events(server, bob_token, room)
    assert stream[2:] == live
    assert (await replayed(await server.connect(room, bob_token, since=0)))[1] == stream
    assert [(m["pinned"], m["updated_seq"]) for m in await server.history(bob_token, room)] == [(True, 3), (False, 5)]
    assert await _pins(server, bob_token, room) == [1]


async def test_a_room_holds_a_hundred_pins_and_a_delete_unpins(server: LiveServer) -> None:
    alice, token = await server.user("alice")
    room = (await server.room(token, "general"))["id"]
    await store_batch(server.state.engine, [Pending(room, alice["id"], "alice", f"m{i}", None) for i in range(102)])
    async with server.state.engine.begin() as conn:  # 100 pinned: the newest pin first on the page
        await conn.execute(
            update(messages).where(messages.c.room_id == room, messages.c.seq <= 100).values(pinned_seq=messages.c.seq)
        )
    pins = await _pins(server, token, room)
    assert pins == list(range(100, 0, -1))
    assert await pin(server, token, room, 101) == 409
    watcher = await server.connect(room, token, since=102)
    await replayed(watcher)

    assert (await delete(server, token, room, 100)).status_code == 204  # 103
    assert (await next_entry(watcher))["unpinned"] is True
    assert await pin(server, token, room, 100) == 409  # deleted
    assert await pin(server, token, room, 101) == 204  # 104: room for one again
    assert await _pins(server, token, room) == [101, *range(99, 0, -1)]
    assert (await delete(server, token, room, 102)).status_code == 204  # 105: never pinned
    assert (await next_entry(watcher))["seq"] == 104
    assert (await next_entry(watcher))["unpinned"] is False
    assert [f["type"] for f in await events(server, token, room, after=102)] == ["delete", "pin", "delete"]
