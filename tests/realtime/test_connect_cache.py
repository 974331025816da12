"""What an instance remembers for reconnecting sockets (checked tokens, a room's
row and readers, its newest entries) never outlives a change it was told of.

In each test another socket keeps the room's feed open, so the reconnect is
served from what the instance remembers unless the change made it forget."""

from __future__ import annotations

from typing import Any

from tests.realtime.conftest import Client, LiveServer, auth


async def _private_room_with_bob(server: LiveServer) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    _, owner = await server.user("alice")
    bob, bob_token = await server.user("bob")
    room = await server.room(owner, "team", private=True)
    r = await server.http.post(f"/rooms/{room['id']}/members", json={"username": "bob"}, headers=auth(owner))
    assert r.status_code == 201, r.text
    return owner, bob_token, bob, room


async def _keeper(server: LiveServer, room_id: int, token: str) -> Client:
    keeper = await server.connect(room_id, token)
    await keeper.handshake()
    return keeper


async def test_a_removed_member_cannot_reconnect_while_the_room_stays_open(server: LiveServer) -> None:
    owner, bob_token, bob, room = await _private_room_with_bob(server)
    await _keeper(server, room["id"], owner)
    first = await server.connect(room["id"], bob_token, since=0)
    await first.handshake()
    await first.close()
    r = await server.http.delete(f"/rooms/{room['id']}/members/{bob['id']}", headers=auth(owner))
    assert r.status_code == 204, r.text
    again = await server.connect(room["id"], bob_token, since=0)
    assert await again.closed() == (1008, "room not found")


async def test_a_renamed_room_is_welcomed_under_its_new_name(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    await _keeper(server, room["id"], token)
    r = await server.http.patch(f"/rooms/{room['id']}", json={"name": "lobby"}, headers=auth(token))
    assert r.status_code == 200, r.text
    again = await server.connect(room["id"], token, since=0)
    welcome, _, _ = await again.handshake()
    assert welcome["room"]["name"] == "lobby"


async def test_a_reconnect_replays_an_edited_message_in_its_current_state(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    keeper = await _keeper(server, room["id"], token)
    for body in ("one", "two"):
        await keeper.message(body)
    first, _ = await keeper.messages(2)
    r = await server.http.patch(
        f"/rooms/{room['id']}/messages/{first['seq']}", json={"body": "one, edited"}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    assert await keeper.recv_type("edit")
    again = await server.connect(room["id"], token, since=0)
    _, replay, synced = await again.handshake()
    assert [(f["type"], f.get("body")) for f in replay] == [
        ("message", "one, edited"),
        ("message", "two"),
        ("edit", "one, edited"),
    ]
    assert synced["last_seq"] == 3


async def test_a_reconnect_after_a_few_messages_replays_exactly_those(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    keeper = await _keeper(server, room["id"], token)
    for n in range(5):
        await keeper.message(f"m{n}")
    seen = await keeper.messages(5)
    again = await server.connect(room["id"], token, since=seen[1]["seq"])
    welcome, replay, synced = await again.handshake()
    assert [m["body"] for m in replay] == ["m2", "m3", "m4"]
    assert synced["last_seq"] == welcome["room"]["last_seq"] == seen[-1]["seq"]
    assert synced["replayed"] == 3
