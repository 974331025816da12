"""What a first visit replays, and who hears that sending moved a marker."""

from __future__ import annotations

from tests.realtime.conftest import LiveServer, ServerFactory, auth
from tests.realtime.mux import connect_mux


async def _say(server: LiveServer, token: str, room_id: int, *bodies: str) -> None:
    client = await server.connect(room_id, token)
    await client.handshake()
    for i, body in enumerate(bodies):
        await client.message(body, f"{body}-{i}")
    await client.messages(len(bodies))
    await client.close()


async def test_without_since_the_newest_messages_with_the_changes_among_them(make_server: ServerFactory) -> None:
    server = await make_server(history_on_connect=2)
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    rid = room["id"]
    await _say(server, token, rid, "one", "two", "three")
    for call in (
        server.http.patch(f"/rooms/{rid}/messages/1", json={"body": "one, edited"}, headers=auth(token)),
        server.http.delete(f"/rooms/{rid}/messages/2", headers=auth(token)),
        server.http.delete(f"/rooms/{rid}/messages/3", headers=auth(token)),
    ):
        assert (await call).status_code in (200, 204)
    client = await server.connect(rid, token)
    _, replay, synced = await client.handshake()
    # Two messages (both deleted since: tombstones), and every change after the first of them.
    assert [(f["type"], f["seq"]) for f in replay] == [
        ("message", 2),
        ("message", 3),
        ("edit", 4),
        ("delete", 5),
        ("delete", 6),
    ]
    assert [f["body"] for f in replay[:2]] == [None, None] and all(f["deleted"] for f in replay[:2])
    assert replay[2]["target_seq"] == 1 and replay[2]["body"] == "one, edited"
    assert synced["last_seq"] == 6 and synced["replayed"] == 5


async def test_a_room_of_edits_alone_still_replays_its_newest_messages(make_server: ServerFactory) -> None:
    server = await make_server(history_on_connect=1)
    _, token = await server.user("alice")
    rid = (await server.room(token, "general"))["id"]
    await _say(server, token, rid, "only")
    for n in range(3):
        r = await server.http.patch(f"/rooms/{rid}/messages/1", json={"body": f"v{n}"}, headers=auth(token))
        assert r.status_code == 200
    _, replay, _ = await (await server.connect(rid, token)).handshake()
    assert [(f["type"], f["seq"]) for f in replay] == [("message", 1), ("edit", 2), ("edit", 3), ("edit", 4)]
    assert replay[0]["body"] == "v2" and replay[0]["edited_at"] is not None


async def test_sending_past_others_messages_tells_the_senders_devices(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    rid = (await server.room(alice, "general"))["id"]
    assert (await server.http.post(f"/rooms/{rid}/join", headers=auth(bob))).status_code == 204
    await _say(server, alice, rid, "hello", "anyone?")
    device = await connect_mux(server, bob)  # subscribed to nothing
    await _say(server, bob, rid, "yes")
    frame = await device.next_type("read")
    assert frame == {"type": "read", "room": rid, "seq": 3}
    # Replying again moves the marker past his own message only: nothing to tell.
    await _say(server, bob, rid, "still here")
    await device.pong()
    assert [f for f in device.log if f["type"] == "read"] == [frame]
    mine = (await server.http.get("/users/me/rooms", headers=auth(bob))).json()["items"]
    assert [(e["last_read_seq"], e["unread"]) for e in mine] == [(4, 0)]
