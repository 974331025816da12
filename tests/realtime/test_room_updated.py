"""A room renamed or described anew by its owner is told live (`room_updated`,
docs/protocol.md): for a public room to every user's /ws sockets, for a private one
to its members' only; the last one a socket gets is the room as it is."""

from __future__ import annotations

from typing import Any

from tests.realtime.conftest import LiveServer, auth
from tests.realtime.mux import Frame, connect_mux


def updates(log: list[Frame]) -> list[dict[str, Any]]:
    return [f["room"] for f in log if f["type"] == "room_updated"]


async def test_a_public_room_renamed_is_told_to_every_user_and_a_private_one_to_its_members(
    server: LiveServer,
) -> None:
    _, ann_token = await server.user("ann")
    _, bob_token = await server.user("bob")
    _, cy_token = await server.user("cyd")
    lobby = await server.room(ann_token, "lobby")
    team = await server.room(ann_token, "team", private=True)
    r = await server.http.post(f"/rooms/{team['id']}/members", json={"username": "cyd"}, headers=auth(ann_token))
    assert r.status_code == 201, r.text
    ann, bob, cy = [await connect_mux(server, t) for t in (ann_token, bob_token, cy_token)]

    r = await server.http.patch(
        f"/rooms/{lobby['id']}", json={"name": "hall", "description": "all of us"}, headers=auth(ann_token)
    )
    assert r.status_code == 200, r.text
    renamed = r.json()
    assert (renamed["name"], renamed["description"]) == ("hall", "all of us")
    for mux in (ann, bob, cy):  # the owner's other sockets too; nobody need be subscribed
        assert (await mux.next_type("room_updated"))["room"] == renamed

    r = await server.http.patch(f"/rooms/{team['id']}", json={"description": "plans"}, headers=auth(ann_token))
    assert r.status_code == 200, r.text
    described = r.json()
    assert (await cy.next_type("room_updated"))["room"] == described
    assert (await ann.next_type("room_updated"))["room"] == described
    await bob.pong()  # anything for bob was queued with cy's
    assert updates(bob.log) == [renamed], "a private room's change reaches its members only"


async def test_changes_made_close_together_leave_every_socket_with_the_latest(server: LiveServer) -> None:
    _, ann_token = await server.user("ann")
    _, bob_token = await server.user("bob")
    lobby = await server.room(ann_token, "lobby")
    bob = await connect_mux(server, bob_token)
    for n in range(5):
        r = await server.http.patch(f"/rooms/{lobby['id']}", json={"name": f"lobby {n}"}, headers=auth(ann_token))
        assert r.status_code == 200, r.text
    await bob.next(lambda f: f["type"] == "room_updated" and f["room"]["name"] == "lobby 4")
    await bob.pong()
    assert updates(bob.log)[-1]["name"] == "lobby 4"
