"""Lists kept live on /ws: a public room made by another user, and a room's
members as they join, are added, leave or are removed (docs/protocol.md)."""

from __future__ import annotations

from typing import Any

from tests.realtime.conftest import LiveServer, auth
from tests.realtime.mux import Frame, connect_mux


def has(frame: Frame, **fields: Any) -> bool:
    return all(frame.get(k) == v for k, v in fields.items())


def who(user: Frame) -> dict[str, Any]:
    return {"id": user["id"], "username": user["username"]}


def named(frame: Frame, user: Frame) -> bool:
    return who(frame["user"]) == who(user)


async def test_a_public_room_made_by_another_user_is_told_to_every_mux_socket(server: LiveServer) -> None:
    _, alice_token = await server.user("alice")
    _, bob_token = await server.user("bob")
    alice_mux, bob_mux = await connect_mux(server, alice_token), await connect_mux(server, bob_token)

    hidden = await server.room(alice_token, "hidden", private=True)
    lobby = await server.room(alice_token, "lobby")
    frame = await bob_mux.next_type("room_created")
    assert has(frame, room=lobby), frame  # the private room before it went unsaid
    # The creator hears `room_added` only, once.
    assert has(await alice_mux.next_type("room_added"), room=hidden)
    assert has(await alice_mux.next_type("room_added"), room=lobby)
    for mux in (alice_mux, bob_mux):
        await mux.pong()
    assert [f for f in alice_mux.log if f["type"] == "room_created"] == []
    assert [f["room"]["id"] for f in bob_mux.log if f["type"] == "room_created"] == [lobby["id"]]
    assert [f for f in bob_mux.log if f["type"] == "room_added"] == []


async def test_members_joining_added_leaving_and_removed_are_told_to_the_room(server: LiveServer) -> None:
    alice, alice_token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    carol, carol_token = await server.user("carol")
    lobby = (await server.room(alice_token, "lobby"))["id"]
    team = (await server.room(alice_token, "team", private=True))["id"]
    alice_mux = await connect_mux(server, alice_token)
    await alice_mux.subscribed([lobby, team])
    per_room = await server.connect(team, alice_token)
    await per_room.handshake()

    r = await server.http.post(f"/rooms/{lobby}/join", headers=auth(bob_token))
    assert r.status_code == 204, r.text
    assert has(f := await alice_mux.next_type("member_added", lobby), room=lobby) and named(f, bob)
    r = await server.http.post(f"/rooms/{team}/members", json={"username": "carol"}, headers=auth(alice_token))
    assert r.status_code == 201, r.text
    assert has(f := await alice_mux.next_type("member_added", team), room=team) and named(f, carol)
    assert named(await per_room.recv_type("member_added"), carol)  # untagged on the per-room socket

    r = await server.http.delete(f"/rooms/{lobby}/members/{bob['id']}", headers=auth(bob_token))
    assert r.status_code == 204, r.text
    assert has(await alice_mux.next_type("member_removed", lobby), room=lobby, user_id=bob["id"])
    r = await server.http.delete(f"/rooms/{team}/members/{carol['id']}", headers=auth(alice_token))
    assert r.status_code == 204, r.text
    assert has(await alice_mux.next_type("member_removed", team), room=team, user_id=carol["id"])
    assert has(await per_room.recv_type("member_removed"), user_id=carol["id"])

    # A room's members are told to those who read it, nobody else.
    carol_mux = await connect_mux(server, carol_token)
    r = await server.http.post(f"/rooms/{team}/members", json={"username": "bob"}, headers=auth(alice_token))
    assert r.status_code == 201, r.text
    assert named(await alice_mux.next_type("member_added", team), bob)
    await carol_mux.pong()
    assert [f for f in carol_mux.log if f["type"].startswith("member_")] == []
