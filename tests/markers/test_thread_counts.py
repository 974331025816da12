"""GET /users/me/threads, the threads the caller follows, most
recently replied first, each with its unread replies and mentions above the marker."""

from __future__ import annotations

from tests.markers.threads import my_threads, read_thread, reply, room_counts, thread_state, threads_page
from tests.realtime.conftest import LiveServer, auth
from tests.streams import delete, join, post


async def test_unread_replies_stay_exact_through_deletes_of_replies_and_of_the_root(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    _, carol = await server.user("carol")
    room = (await server.room(alice, "general"))["id"]
    for token in (bob, carol):
        await join(server, token, room)
    await post(server, alice, room, "plan")  # 1
    await reply(server, bob, room, 1, "b1")  # 2
    await reply(server, carol, room, 1, "c1")  # 3
    await reply(server, bob, room, 1, "b2")  # 4
    states = [await thread_state(server, t, room, 1) for t in (alice, bob, carol)]
    assert states == [(1, 3, 0), (4, 0, 0), (3, 1, 0)]
    assert (await room_counts(server, alice, room)) == (1, 0, 0)  # replies never count in the room
    assert (await delete(server, bob, room, 2)).status_code == 204  # 5
    states = [await thread_state(server, t, room, 1) for t in (alice, bob, carol)]
    assert states == [(1, 2, 0), (4, 0, 0), (3, 1, 0)]
    assert (await delete(server, bob, room, 4)).status_code == 204  # 6
    states = [await thread_state(server, t, room, 1) for t in (alice, bob, carol)]
    assert states == [(1, 1, 0), (4, 0, 0), (3, 0, 0)]
    await reply(server, bob, room, 1, "b3")  # 7
    # The root deleted: a tombstone; its thread and counts go on.
    assert (await delete(server, alice, room, 1)).status_code == 204  # 8
    (item,) = [i for i in await my_threads(server, alice) if i["room_id"] == room]
    assert (item["last_read_seq"], item["unread"], item["mentions"]) == (1, 2, 0)
    assert item["root"]["deleted"] is True and item["root"]["body"] is None and item["root"]["seq"] == 1
    assert [await thread_state(server, t, room, 1) for t in (bob, carol)] == [(7, 0, 0), (3, 1, 0)]
    assert (await read_thread(server, alice, room, 1, 100)).status_code == 204
    assert await thread_state(server, alice, room, 1) == (7, 0, 0)
    assert (await room_counts(server, alice, room)) == (1, 0, 0)


async def test_threads_are_listed_most_recently_replied_first_in_pages(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    rooms = [(await server.room(alice, name))["id"] for name in ("one", "two")]
    for room in rooms:
        await join(server, bob, room)
        await post(server, alice, room, "root a", "root b", "root c")  # 1-3
    order: list[tuple[int, int]] = []
    for room, root in ((rooms[0], 2), (rooms[1], 1), (rooms[0], 1), (rooms[1], 3), (rooms[0], 3), (rooms[1], 1)):
        await reply(server, bob, room, root, f"on {root}")
        order = [(room, root)] + [t for t in order if t != (room, root)]
    for token in (alice, bob):
        listed = [(i["room_id"], i["root"]["seq"]) for i in await my_threads(server, token)]
        assert listed == order, token
    pages: list[list[tuple[int, int]]] = []
    params: dict[str, object] = {"limit": 2}
    while True:
        page = await threads_page(server, alice, **params)
        pages.append([(i["room_id"], i["root"]["seq"]) for i in page["items"]])
        if not page["has_more"]:
            assert page["next_before"] is None
            break
        params["before"] = page["next_before"]
    assert pages == [order[0:2], order[2:4], order[4:5]]
    (first,) = (await threads_page(server, alice, limit=1))["items"]
    assert set(first) == {"room_id", "root", "last_read_seq", "unread", "mentions"}
    assert first["root"]["reply_count"] == 2 and first["root"]["thread_seq"] is None
    r = await server.http.get(f"/rooms/{rooms[1]}/messages", headers=auth(alice))
    assert first["root"] == next(m for m in r.json()["items"] if m["seq"] == 1)
    assert await my_threads(server, (await server.user("carol"))[1]) == []


async def test_a_malformed_cursor_or_limit_is_refused(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    bad: list[dict[str, object]] = [{"limit": 0}, {"limit": 101}, {"limit": "x"}]
    bad += [{"before": b} for b in ("", "x", "1_2", "1_2_", "1_2_3_4", "-1_2_3", "1_2_x", "1_2_12345678901")]
    for params in bad:
        r = await server.http.get("/users/me/threads", params=params, headers=auth(alice))
        assert r.status_code == 422, (params, r.text)
    page = await threads_page(server, alice, before="0_0_0")
    assert page == {"items": [], "has_more": False, "next_before": None}
    assert (await threads_page(server, alice, before=f"{'9' * 18}_{'9' * 19}_{'9' * 10}"))["items"] == []
    assert (await server.http.get("/users/me/threads")).status_code == 401


async def test_a_member_removed_from_a_private_room_no_longer_sees_its_threads(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    bob_user, bob = await server.user("bob")
    private = (await server.room(alice, "private", private=True))["id"]
    public = (await server.room(alice, "public"))["id"]
    r = await server.http.post(f"/rooms/{private}/members", json={"username": "bob"}, headers=auth(alice))
    assert r.status_code == 201
    await join(server, bob, public)
    for room in (private, public):
        await post(server, alice, room, "plan")
        await reply(server, bob, room, 1, "b1")
        await reply(server, alice, room, 1, "a1")
    assert {i["room_id"] for i in await my_threads(server, bob)} == {private, public}
    for room in (private, public):
        r = await server.http.delete(f"/rooms/{room}/members/{bob_user['id']}", headers=auth(alice))
        assert r.status_code == 204
    # The public room he may still read: he follows its thread still.
    assert [(i["room_id"], i["unread"]) for i in await my_threads(server, bob)] == [(public, 1)]
    r = await read_thread(server, bob, private, 1, 3)
    assert r.status_code == 404
    r = await server.http.post(f"/rooms/{private}/members", json={"username": "bob"}, headers=auth(alice))
    assert r.status_code == 201
    assert {i["room_id"] for i in await my_threads(server, bob)} == {private, public}
