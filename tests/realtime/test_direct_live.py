"""Direct conversations on the multiplexed socket: both users hear of a new one."""

from __future__ import annotations

from tests.realtime.conftest import LiveServer, auth
from tests.realtime.mux import connect_mux


async def test_both_hear_of_it_and_it_counts_unread(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    alice_mux, bob_mux = await connect_mux(server, alice), await connect_mux(server, bob)
    r = await server.http.post("/dms", json={"username": "bob"}, headers=auth(alice))
    assert r.status_code == 201
    room = r.json()
    for mux in (alice_mux, bob_mux):
        frame = await mux.next_type("room_added")
        assert frame["room"]["id"] == room["id"] and frame["room"]["kind"] == "direct"
    await alice_mux.subscribed([room["id"]])
    await alice_mux.said(room["id"], "hi bob", "c1")
    mine = (await server.http.get("/users/me/rooms", headers=auth(bob))).json()["items"]
    assert [(e["room"]["id"], e["unread"]) for e in mine] == [(room["id"], 1)]
    # Asking again tells nobody anything new.
    assert (await server.http.post("/dms", json={"username": "alice"}, headers=auth(bob))).status_code == 200
    await bob_mux.pong()
    assert [f["type"] for f in bob_mux.log].count("room_added") == 1
