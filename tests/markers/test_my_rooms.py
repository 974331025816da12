"""GET /users/me/rooms, POST /rooms/{id}/join, and leaving through DELETE /rooms/{id}/members/{me}."""

from __future__ import annotations

import asyncio

from tests.realtime.conftest import LiveServer, auth
from tests.realtime.mux import connect_mux
from tests.streams import admin, delete, edit, join, mark, my_rooms, post


async def _order(server: LiveServer, token: str) -> list[int]:
    return [item["room"]["id"] for item in await my_rooms(server, token)]


async def test_member_rooms_only_most_recently_active_first(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    r1, r2, r3 = [(await server.room(alice, name))["id"] for name in ("one", "two", "three")]
    theirs = (await server.room(bob, "bob's"))["id"]  # public, alice not a member
    hidden = (await server.room(bob, "hidden", private=True))["id"]
    assert await _order(server, alice) == [r3, r2, r1]  # no stream yet: by creation, newest first
    assert await _order(server, bob) == [hidden, theirs]
    await post(server, alice, r1, "hello")
    assert await _order(server, alice) == [r1, r3, r2]
    await post(server, bob, r2, "from bob")  # bob is no member of r2: it stays out of his list
    assert await _order(server, alice) == [r2, r1, r3]
    assert await _order(server, bob) == [hidden, theirs]
    await post(server, alice, r3, "three")
    await post(server, alice, r1, "again")
    assert await _order(server, alice) == [r1, r3, r2]
    # Edits and deletes are activity too: the time of the room's latest stream entry.
    assert (await edit(server, alice, r3, 1, "three!")).status_code == 200
    assert await _order(server, alice) == [r3, r1, r2]
    assert (await delete(server, alice, r2, 1)).status_code == 204
    assert await _order(server, alice) == [r2, r3, r1]
    # Reading is not activity.
    assert (await mark(server, alice, r1, 2)).status_code == 204
    assert await _order(server, alice) == [r2, r3, r1]

    items = await my_rooms(server, alice)
    for item in items:
        assert set(item) == {"room", "last_read_seq", "unread", "mentions"}
        r = await server.http.get(f"/rooms/{item['room']['id']}", headers=auth(alice))
        assert item["room"] == r.json()
    assert {i["room"]["id"]: (i["last_read_seq"], i["unread"]) for i in items} == {
        r1: (2, 0),
        r2: (0, 0),  # bob's message there is deleted
        r3: (1, 0),
    }
    r = await server.http.get("/users/me/rooms")
    assert r.status_code == 401


async def test_join_is_idempotent_public_rooms_only_and_announced_on_ws(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    bob_user, bob = await server.user("bob")
    _, root = await admin(server, "root")
    public = (await server.room(alice, "public"))["id"]
    other = (await server.room(alice, "other"))["id"]
    private = (await server.room(alice, "private", private=True))["id"]
    await post(server, alice, public, "before", "bob", "joined")
    mux = await connect_mux(server, bob)
    r = await join(server, bob, public)
    assert r.status_code == 204 and r.content == b""
    added = await mux.next_type("room_added")
    assert added["room"]["id"] == public and added["room"]["last_seq"] == 3
    assert await my_rooms(server, bob) == [{"room": added["room"], "last_read_seq": 3, "unread": 0, "mentions": 0}]
    members = await server.http.get(f"/rooms/{public}/members", headers=auth(alice))
    assert bob_user["id"] in [u["id"] for u in members.json()["items"]]
    # Again: nothing changes, nothing is announced (the next room_added is another room's).
    assert (await join(server, bob, public)).status_code == 204
    assert (await my_rooms(server, bob))[0]["last_read_seq"] == 3
    assert (await join(server, bob, other)).status_code == 204
    assert (await mux.next_type("room_added"))["room"]["id"] == other
    # Private rooms are joined by invitation only, whoever asks; unknown rooms are not found.
    for token, room in ((bob, private), (root, private), (bob, 99999)):
        r = await join(server, token, room)
        assert r.status_code == 404, r.text
    assert private not in await _order(server, bob) and await my_rooms(server, root) == []
    # A member joining a private room they belong to changes nothing.
    assert (await join(server, alice, private)).status_code == 204
    assert private in await _order(server, alice)
    assert (await server.http.post(f"/rooms/{public}/join")).status_code == 401


async def test_leaving_removes_the_room_from_the_list_joining_again_starts_at_the_end(server: LiveServer) -> None:
    alice_user, alice = await server.user("alice")
    bob_user, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await join(server, bob, room)
    await post(server, alice, room, "one", "two")
    assert [(i["last_read_seq"], i["unread"]) for i in await my_rooms(server, bob)] == [(0, 2)]
    r = await server.http.delete(f"/rooms/{room}/members/{bob_user['id']}", headers=auth(bob))
    assert r.status_code == 204
    assert await my_rooms(server, bob) == []
    await post(server, alice, room, "three")
    assert (await mark(server, bob, room, 3)).status_code == 204  # no member: nothing kept
    assert await my_rooms(server, bob) == []
    await join(server, bob, room)
    assert [(i["last_read_seq"], i["unread"]) for i in await my_rooms(server, bob)] == [(3, 0)]
    # The owner cannot leave; the room stays on their list.
    r = await server.http.delete(f"/rooms/{room}/members/{alice_user['id']}", headers=auth(alice))
    assert r.status_code == 403
    assert await _order(server, alice) == [room]
    # A deleted room leaves every list.
    assert (await server.http.delete(f"/rooms/{room}", headers=auth(alice))).status_code == 204
    assert await my_rooms(server, alice) == [] and await my_rooms(server, bob) == []


async def test_concurrent_joins_make_one_membership_and_one_announcement(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    later = (await server.room(alice, "later"))["id"]
    mux = await connect_mux(server, bob)
    answers = await asyncio.gather(*(join(server, bob, room) for _ in range(8)))
    assert [r.status_code for r in answers] == [204] * 8
    assert (await mux.next_type("room_added"))["room"]["id"] == room
    await join(server, bob, later)
    assert (await mux.next_type("room_added"))["room"]["id"] == later
    assert await _order(server, bob) == [later, room]
    members = (await server.http.get(f"/rooms/{room}/members", headers=auth(bob))).json()["items"]
    assert [u["username"] for u in members] == ["alice", "bob"]
