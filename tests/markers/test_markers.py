"""POST /rooms/{id}/read, unread counts, and sending moving the sender's marker."""

from __future__ import annotations

from tests.realtime.conftest import LiveServer, auth
from tests.realtime.mux import connect_mux
from tests.streams import delete, edit, join, mark, marker, my_rooms, post


async def _state(server: LiveServer, token: str, room: int) -> tuple[int, int]:
    entry = await marker(server, token, room)
    assert entry is not None, room
    return entry["last_read_seq"], entry["unread"]


async def test_the_marker_moves_forward_only_and_clamps_to_the_last_seq(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    assert (await join(server, bob, room)).status_code == 204
    assert await _state(server, bob, room) == (0, 0)
    await post(server, alice, room, *(f"m{i}" for i in range(1, 6)))
    assert await _state(server, bob, room) == (0, 5)
    for seq, expected in ((3, (3, 2)), (2, (3, 2)), (0, (3, 2)), (3, (3, 2)), (100, (5, 0)), (4, (5, 0))):
        r = await mark(server, bob, room, seq)
        assert r.status_code == 204, r.text
        assert await _state(server, bob, room) == expected, seq
    await post(server, alice, room, "m6", "m7")
    assert await _state(server, bob, room) == (5, 2)
    assert (await mark(server, bob, room, 2**31 - 1)).status_code == 204
    assert await _state(server, bob, room) == (7, 0)


async def test_bad_seqs_are_refused(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    room = (await server.room(alice, "general"))["id"]
    await post(server, alice, room, "one")
    for seq in (-1, 2**31, 1.5, "x", None, [1], {"seq": 1}):
        r = await mark(server, alice, room, seq)
        assert r.status_code == 422, (seq, r.text)
    for body in ({}, {"seq": 1, "room": room}):
        r = await server.http.post(f"/rooms/{room}/read", json=body, headers=auth(alice))
        assert r.status_code == 422, (body, r.text)
    assert await _state(server, alice, room) == (1, 0)


async def test_rooms_the_caller_cannot_read_are_not_found_non_members_keep_no_marker(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    _, stranger = await server.user("stranger")
    public = (await server.room(alice, "public"))["id"]
    private = (await server.room(alice, "private", private=True))["id"]
    r = await server.http.post(f"/rooms/{private}/members", json={"username": "bob"}, headers=auth(alice))
    assert r.status_code == 201
    await post(server, alice, private, "p1", "p2")
    await post(server, alice, public, "q1", "q2", "q3")
    for room in (private, 99999):
        r = await mark(server, stranger, room, 1)
        assert r.status_code == 404 and r.json() == {"detail": "room not found"}, r.text
    assert (await mark(server, bob, private, 1)).status_code == 204
    assert await _state(server, bob, private) == (1, 1)
    # A public room the caller is not a member of: 204, and nothing is kept.
    assert (await mark(server, stranger, public, 2)).status_code == 204
    assert await my_rooms(server, stranger) == []
    assert (await join(server, stranger, public)).status_code == 204
    assert await _state(server, stranger, public) == (3, 0)  # joining starts at the end, not at 2


async def test_sending_moves_the_senders_marker_on_both_sockets(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await join(server, bob, room)
    await post(server, alice, room, "a1", "a2", "a3")
    assert await _state(server, alice, room) == (3, 0)
    assert await _state(server, bob, room) == (0, 3)
    (echo,) = await post(server, bob, room, "b1")
    assert echo["seq"] == 4
    assert await _state(server, bob, room) == (4, 0)
    assert await _state(server, alice, room) == (3, 1)
    mux = await connect_mux(server, alice)
    await mux.subscribe([(room, 4)])
    await mux.next_type("synced", room)
    echo = await mux.said(room, "a4", "a4")
    assert echo["seq"] == 5
    assert await _state(server, alice, room) == (5, 0)
    assert await _state(server, bob, room) == (4, 1)
    # A resend of a stored client_msg_id stores nothing and moves nothing.
    assert (await mark(server, alice, room, 0)).status_code == 204
    await post(server, bob, room, "b2")  # 6
    answer = await mux.said(room, "a4", "a4")
    assert answer["duplicate"] is True and answer["seq"] == 5
    assert await _state(server, alice, room) == (5, 1)


async def test_unread_counts_messages_of_others_not_deleted_never_events(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    _, carol = await server.user("carol")
    room = (await server.room(alice, "general"))["id"]
    for token in (bob, carol):
        await join(server, token, room)
    await post(server, alice, room, "a1", "a2", "a3")  # 1-3
    await post(server, bob, room, "b1", "b2")  # 4-5
    assert [await _state(server, t, room) for t in (alice, bob, carol)] == [(3, 2), (5, 0), (0, 5)]
    assert (await edit(server, alice, room, 1, "a1 again")).status_code == 200  # 6
    assert (await edit(server, bob, room, 5, "b2 again")).status_code == 200  # 7
    assert [await _state(server, t, room) for t in (alice, bob, carol)] == [(3, 2), (5, 0), (0, 5)]
    assert (await delete(server, alice, room, 4)).status_code == 204  # 8: bob's b1, by the owner
    assert (await delete(server, alice, room, 2)).status_code == 204  # 9
    assert [await _state(server, t, room) for t in (alice, bob, carol)] == [(3, 1), (5, 0), (0, 3)]
    assert (await mark(server, carol, room, 6)).status_code == 204  # an event's seq is a fine marker
    assert [await _state(server, t, room) for t in (alice, bob, carol)] == [(3, 1), (5, 0), (6, 0)]
    await post(server, carol, room, "c1")  # 10
    assert [await _state(server, t, room) for t in (alice, bob, carol)] == [(3, 2), (5, 1), (10, 0)]
    assert (await delete(server, carol, room, 10)).status_code == 204  # 11
    assert [await _state(server, t, room) for t in (alice, bob, carol)] == [(3, 1), (5, 0), (10, 0)]


async def test_own_messages_never_lie_above_ones_marker(server: LiveServer) -> None:
    """Unread is the entries above the marker less events and deleted messages, so none
    of them may be one's own: sending moves the marker, and leaving and joining again
    starts it at the room's end."""
    _, alice = await server.user("alice")
    bob_user, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await join(server, bob, room)
    await post(server, bob, room, "b1", "b2")
    await post(server, alice, room, "a1")
    assert await _state(server, bob, room) == (2, 1)
    await post(server, bob, room, "b3")
    assert [await _state(server, t, room) for t in (alice, bob)] == [(3, 1), (4, 0)]
    r = await server.http.delete(f"/rooms/{room}/members/{bob_user['id']}", headers=auth(bob))
    assert r.status_code == 204, r.text
    await post(server, alice, room, "a2")
    await join(server, bob, room)
    assert await _state(server, bob, room) == (5, 0)
    await post(server, bob, room, "b4")
    await post(server, alice, room, "a3")
    assert [await _state(server, t, room) for t in (alice, bob)] == [(7, 0), (6, 1)]
