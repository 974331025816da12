"""mentions counted in GET /users/me/rooms and /users/me/threads,
and listed by GET /users/me/mentions: by name or `@room`, each message once, never
one's own, never deleted, only in rooms one is a member of."""

from __future__ import annotations

from tests.markers.threads import mentions_page, reply, room_counts, thread_state
from tests.realtime.conftest import LiveServer, auth
from tests.streams import delete, edit, join, mark, post


async def _mentioning(server: LiveServer, token: str) -> list[str]:
    """The bodies of every message mentioning the caller, newest first, page after page of two."""
    bodies: list[str] = []
    params: dict[str, object] = {"limit": 2}
    while True:
        page = await mentions_page(server, token, **params)
        assert len(page["items"]) <= 2
        bodies += [m["body"] for m in page["items"]]
        if not page["has_more"]:
            return bodies
        params["before_id"] = page["items"][-1]["id"]


async def test_room_mentions_count_each_unread_message_once_by_name_or_room(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    _, carol = await server.user("carol")
    room = (await server.room(alice, "team", private=True))["id"]
    for name in ("bob", "carol"):
        r = await server.http.post(f"/rooms/{room}/members", json={"username": name}, headers=auth(alice))
        assert r.status_code == 201
    await post(server, bob, room, "hi @alice")  # 1
    await post(server, bob, room, "@alice and @room: standup")  # 2: named and @room, once
    await post(server, carol, room, "@ROOM lunch?")  # 3
    await post(server, carol, room, "nothing for anyone")  # 4
    counts = [await room_counts(server, t, room) for t in (alice, bob, carol)]
    assert counts == [(0, 4, 3), (2, 2, 1), (4, 0, 0)]
    assert (await mark(server, alice, room, 1)).status_code == 204
    assert await room_counts(server, alice, room) == (1, 3, 2)
    assert (await delete(server, carol, room, 3)).status_code == 204  # 5
    counts = [await room_counts(server, t, room) for t in (alice, bob, carol)]
    assert counts == [(1, 2, 1), (2, 1, 0), (4, 0, 0)]
    assert (await edit(server, bob, room, 2, "standup")).status_code == 200  # 6: mentions nobody now
    assert await room_counts(server, alice, room) == (1, 2, 0)
    assert (await edit(server, bob, room, 2, "standup @Alice.")).status_code == 200  # 7
    assert await room_counts(server, alice, room) == (1, 2, 1)
    await post(server, alice, room, "thanks @bob, @room")  # 8: her own, and her marker moves past
    counts = [await room_counts(server, t, room) for t in (alice, bob, carol)]
    assert counts == [(8, 0, 0), (2, 2, 1), (4, 1, 1)]


async def test_mentions_in_replies_count_in_the_thread_never_in_the_room(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await join(server, bob, room)
    await post(server, alice, room, "plan")  # 1
    await reply(server, bob, room, 1, "@alice @room look", "@room again", "no one")  # 2-4
    assert await thread_state(server, alice, room, 1) == (1, 3, 2)
    assert await room_counts(server, alice, room) == (1, 0, 0)
    assert (await delete(server, bob, room, 3)).status_code == 204  # 5
    assert await thread_state(server, alice, room, 1) == (1, 2, 1)
    # A member named in a reply follows the thread from there on.
    _, carol = await server.user("carol")
    await join(server, carol, room)
    await reply(server, bob, room, 1, "@carol see above")  # 6
    state = await thread_state(server, carol, room, 1)
    assert state is not None and state[1:] == (1, 1), state
    assert await room_counts(server, carol, room) == (5, 0, 0)


async def test_the_mentions_page_lists_messages_mentioning_the_caller_newest_first(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    other = (await server.room(bob, "other"))["id"]
    await join(server, bob, room)
    await join(server, alice, other)
    await post(server, bob, room, "one @alice")  # 1
    await post(server, bob, other, "two @room")
    await post(server, alice, room, "mine @alice @room")  # 2: her own, never listed
    await reply(server, bob, room, 1, "three @alice @room")  # 3: once
    await post(server, bob, room, "not her")  # 4
    await post(server, bob, room, "four @alice")  # 5
    await post(server, bob, room, "gone @alice")  # 6
    assert (await delete(server, bob, room, 6)).status_code == 204
    assert await _mentioning(server, alice) == ["four @alice", "three @alice @room", "two @room", "one @alice"]
    assert await _mentioning(server, bob) == ["mine @alice @room"]
    page = await mentions_page(server, alice, limit=1)
    assert page["has_more"] is True
    (item,) = page["items"]
    r = await server.http.get(f"/rooms/{room}/messages", headers=auth(alice))
    assert item == next(m for m in r.json()["items"] if m["seq"] == 5)  # a Message as history has it
    assert (await mentions_page(server, alice, before_id=1)) == {"items": [], "has_more": False}
    for params in ({"limit": 0}, {"limit": 101}, {"before_id": 0}, {"before_id": "x"}):
        r = await server.http.get("/users/me/mentions", params=params, headers=auth(alice))
        assert r.status_code == 422, (params, r.text)
    assert (await server.http.get("/users/me/mentions")).status_code == 401


async def test_a_member_removed_from_a_room_no_longer_sees_its_mentions(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    bob_user, bob = await server.user("bob")
    private = (await server.room(alice, "private", private=True))["id"]
    public = (await server.room(alice, "public"))["id"]
    r = await server.http.post(f"/rooms/{private}/members", json={"username": "bob"}, headers=auth(alice))
    assert r.status_code == 201
    await join(server, bob, public)
    await post(server, alice, private, "secret @bob")
    await post(server, alice, public, "open @room")
    assert await _mentioning(server, bob) == ["open @room", "secret @bob"]
    for room in (private, public):
        r = await server.http.delete(f"/rooms/{room}/members/{bob_user['id']}", headers=auth(alice))
        assert r.status_code == 204
    # `@room` and names reach members only: leaving takes a room's mentions away.
    assert await _mentioning(server, bob) == []
    r = await server.http.post(f"/rooms/{private}/members", json={"username": "bob"}, headers=auth(alice))
    assert r.status_code == 201
    assert await _mentioning(server, bob) == ["secret @bob"]
