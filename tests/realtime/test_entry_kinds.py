"""Guarantees 3, 8 and 10 with every kind of entry (message, reply, edit, delete,
reaction, pin): live on both sockets in seq order, and replayed on both exactly as
GET /rooms/{id}/events pages them, messages in their current state."""

from __future__ import annotations

from tests.realtime.conftest import LiveServer
from tests.realtime.mux import connect_mux
from tests.streams import (
    delete,
    edit,
    events,
    mux_entry,
    mux_replayed,
    next_entry,
    pin,
    react,
    replayed,
    said,
    without_room,
)


async def test_every_kind_of_entry_reaches_sockets_live_and_replays_as_the_events_page_shows_it(
    server: LiveServer,
) -> None:
    alice, alice_token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    room = (await server.room(alice_token, "general"))["id"]
    r = await server.http.post(f"/rooms/{room}/join", headers={"Authorization": f"Bearer {bob_token}"})
    assert r.status_code == 204
    reader = await server.connect(room, bob_token, since=0)
    await replayed(reader)
    mux = await connect_mux(server, bob_token)
    await mux.subscribe([(room, 0)])
    await mux_replayed(mux, room)

    sock = await server.connect(room, alice_token)
    await replayed(sock)
    await said(sock, "root for @bob", "root")  # 1
    await said(sock, "a reply", "reply", thread_seq=1)  # 2
    assert await react(server, bob_token, room, 1, "🎉") == 204  # 3
    assert await pin(server, alice_token, room, 1) == 204  # 4
    assert (await edit(server, alice_token, room, 1, "root for @room")).status_code == 200  # 5
    assert await react(server, bob_token, room, 1, "🎉", add=False) == 204  # 6
    assert (await delete(server, alice_token, room, 2)).status_code == 204  # 7
    assert await pin(server, alice_token, room, 1, add=False) == 204  # 8

    live = [await next_entry(reader) for _ in range(8)]
    assert without_room([await mux_entry(mux, room) for _ in range(8)]) == live
    assert [(f["type"], f["seq"]) for f in live] == [
        ("message", 1),
        ("message", 2),
        ("reaction", 3),
        ("pin", 4),
        ("edit", 5),
        ("reaction", 6),
        ("delete", 7),
        ("pin", 8),
    ]
    root, reply = live[0], live[1]
    assert (root["mentions"], root["thread_seq"], "root" not in root) == ([bob["id"]], None, True)
    assert reply["root"] == {"seq": 1, "reply_count": 1, "last_reply_at": reply["created_at"]}
    by_alice, by_bob = ({"id": u["id"], "username": u["username"]} for u in (alice, bob))
    assert live[2] == {
        "type": "reaction",
        "seq": 3,
        "target_seq": 1,
        "emoji": "🎉",
        "op": "add",
        "user": by_bob,
        "count": 1,
    }
    assert live[4]["mentions"] == [] and live[4]["mentions_room"] is True
    assert live[6] == {
        "type": "delete",
        "seq": 7,
        "target_seq": 2,
        "user": by_alice,
        "unpinned": False,
        "root": {"seq": 1, "reply_count": 0, "last_reply_at": None},
    }
    assert live[7] == {"type": "pin", "seq": 8, "target_seq": 1, "op": "remove", "user": by_alice}

    # Replayed and paged: the events as they were; the messages as they are now.
    stream = await events(server, bob_token, room)
    assert stream[2:] == live[2:]
    now_root, now_reply = stream[0], stream[1]
    assert (now_root["body"], now_root["mentions"], now_root["mentions_room"]) == ("root for @room", [], True)
    assert (now_root["reply_count"], now_root["reactions"], now_root["pinned"], now_root["updated_seq"]) == (
        0,
        [],
        False,
        8,
    )
    assert (now_reply["deleted"], now_reply["body"], now_reply["updated_seq"]) == (True, None, 7)
    assert now_reply["root"] == reply["root"]  # as of the reply
    assert (await replayed(await server.connect(room, bob_token, since=0)))[1] == stream
    again = await connect_mux(server, bob_token)
    await again.subscribe([(room, 0)])
    assert without_room((await mux_replayed(again, room))[1]) == stream
