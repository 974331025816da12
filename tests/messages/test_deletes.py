"""SPEC 2, 3.5 and guarantee 8: DELETE /rooms/{id}/messages/{seq}; deleted content is never served again."""

from __future__ import annotations

from sqlalchemy import func, select

from service.messages.models import Message
from tests.realtime.conftest import LiveServer, auth
from tests.realtime.mux import connect_mux
from tests.streams import (
    admin,
    delete,
    edit,
    events,
    last_seq,
    mux_replayed,
    next_entry,
    post,
    replayed,
    said,
    without_room,
)


async def test_the_author_the_owner_and_an_admin_may_delete_nobody_else(server: LiveServer) -> None:
    _, owner_token = await server.user("owner")
    bob, bob_token = await server.user("bob")
    _, carol_token = await server.user("carol")
    _, dave_token = await server.user("dave")  # no member: the room is public, so readable
    root, root_token = await admin(server, "root")
    owner = await server.me(owner_token)
    room = (await server.room(owner_token, "general"))["id"]
    await post(server, bob_token, room, "one", "two", "three")
    await post(server, carol_token, room, "carol's")
    watcher = await server.connect(room, carol_token, since=4)
    await replayed(watcher)

    for token in (carol_token, dave_token):  # neither the author nor the owner nor an admin
        for seq in (1, 2, 3):
            assert (await delete(server, token, room, seq)).status_code == 403
    assert (await delete(server, bob_token, room, 4)).status_code == 403  # carol's, not bob's
    assert await last_seq(server, owner_token, room) == 4

    for seq, (who, token) in zip((1, 2, 3), ((bob, bob_token), (owner, owner_token), (root, root_token)), strict=True):
        r = await delete(server, token, room, seq)
        assert r.status_code == 204, r.text
        frame = await next_entry(watcher)
        assert frame == {
            "type": "delete",
            "seq": 4 + seq,
            "target_seq": seq,
            "user": {"id": who["id"], "username": who["username"]},
            "unpinned": False,
        }
    history = await server.history(carol_token, room)
    assert [(m["seq"], m["body"], m["deleted"]) for m in history] == [
        (1, None, True),
        (2, None, True),
        (3, None, True),
        (4, "carol's", False),
    ]
    assert all(m["user"]["id"] == bob["id"] for m in history[:3])  # a tombstone keeps its author


async def test_an_admin_deletes_in_a_private_room_outsiders_get_not_found(server: LiveServer) -> None:
    _, owner_token = await server.user("owner")
    _, outsider_token = await server.user("outsider")
    _, root_token = await admin(server, "root")
    room = (await server.room(owner_token, "secret", private=True))["id"]
    await post(server, owner_token, room, "psst", "again")
    r = await delete(server, outsider_token, room, 1)
    assert r.status_code == 404 and r.json() == {"detail": "room not found"}
    assert (await delete(server, root_token, room, 1)).status_code == 204
    assert [m["deleted"] for m in await server.history(owner_token, room)] == [True, False]


async def test_deleting_a_deleted_message_stores_no_event(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = (await server.room(token, "general"))["id"]
    await post(server, token, room, "gone soon")
    client = await server.connect(room, token, since=1)
    await replayed(client)
    assert (await delete(server, token, room, 1)).status_code == 204
    assert (await next_entry(client))["type"] == "delete"
    for _ in range(2):
        r = await delete(server, token, room, 1)
        assert r.status_code == 204, r.text
    assert await last_seq(server, token, room) == 2
    assert [e["type"] for e in await events(server, token, room)] == ["message", "delete"]
    # Nothing was broadcast for the repeats: the next frame is the next message.
    echo = await said(client, "next", "n1")
    assert echo["seq"] == 3


async def test_deleted_content_is_never_served_again(server: LiveServer) -> None:
    _, alice_token = await server.user("alice")
    _, bob_token = await server.user("bob")
    room = (await server.room(alice_token, "general"))["id"]
    client = await server.connect(room, alice_token)
    await replayed(client)
    await said(client, "top secret", "c-secret")
    await said(client, "kept", "c-kept")
    assert (await edit(server, alice_token, room, 1, "top secret, v2")).status_code == 200
    assert (await edit(server, alice_token, room, 1, "top secret, v3")).status_code == 200
    await edit(server, alice_token, room, 2, "kept, edited")
    assert (await delete(server, alice_token, room, 1)).status_code == 204
    while (await next_entry(client))["type"] != "delete":
        pass

    def leaks(frames: list[dict]) -> list[dict]:
        return [f for f in frames if "secret" in str(f.get("body"))]

    # History: a tombstone.
    history = await server.history(bob_token, room)
    assert [(m["seq"], m["body"], m["deleted"]) for m in history] == [(1, None, True), (2, "kept, edited", False)]
    # The stream, through REST: the message and every edit of it without a body.
    stream = await events(server, bob_token, room)
    assert [(e["type"], e["seq"], e.get("target_seq"), e["body"]) for e in stream if e["type"] != "delete"] == [
        ("message", 1, None, None),
        ("message", 2, None, "kept, edited"),
        ("edit", 3, 1, None),
        ("edit", 4, 1, None),
        ("edit", 5, 2, "kept, edited"),
    ]
    assert stream[0]["deleted"] is True and stream[-1]["type"] == "delete"
    # Replay on both sockets: the same.
    fresh = await server.connect(room, bob_token, since=0)
    _, replay, _ = await replayed(fresh)
    assert replay == stream and not leaks(replay)
    mux = await connect_mux(server, bob_token)
    await mux.subscribe([(room, 0)])
    _, mux_replay, _ = await mux_replayed(mux, room)
    assert without_room(mux_replay) == stream
    newest = await server.connect(room, bob_token)  # no since: the newest entries
    _, newest_replay, _ = await replayed(newest)
    assert newest_replay == stream
    # The answer to a resend of its client_msg_id: the tombstone, not the content.
    await client.message("top secret", "c-secret")
    answer = await next_entry(client)
    assert answer["duplicate"] is True and answer["seq"] == 1
    assert answer["body"] is None and answer["deleted"] is True
    assert await last_seq(server, alice_token, room) == 6
    # And not in the database either.
    table = Message.__table__
    async with server.state.engine.connect() as conn:
        stored = await conn.scalar(select(func.count()).select_from(table).where(table.c.body.like("%secret%")))
    assert stored == 0


async def test_deleting_an_unknown_seq_or_an_event_is_not_found(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = (await server.room(token, "general"))["id"]
    await post(server, token, room, "only")
    await edit(server, token, room, 1, "only one")
    for seq in (2, 3, 1000):
        r = await delete(server, token, room, seq)
        assert r.status_code == 404, (seq, r.text)
    r = await server.http.delete(f"/rooms/{room}/messages/0", headers=auth(token))
    assert r.status_code == 422
    assert await last_seq(server, token, room) == 2


async def test_in_a_direct_conversation_only_the_author_or_an_admin_deletes(server: LiveServer) -> None:
    alice, alice_token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    _, root_token = await admin(server, "root")
    r = await server.http.post("/dms", json={"username": "bob"}, headers=auth(alice_token))
    assert r.status_code == 201, r.text
    room = r.json()["id"]
    assert r.json()["owner_id"] == alice["id"]  # the opener: no power over bob's words
    await post(server, bob_token, room, "bob's one", "bob's two")
    await post(server, alice_token, room, "alice's")

    for token, seq in ((alice_token, 1), (alice_token, 2), (bob_token, 3)):
        r = await delete(server, token, room, seq)
        assert r.status_code == 403, r.text
        assert r.json() == {"detail": "only the author or an admin may delete a message in a direct conversation"}
    assert await last_seq(server, alice_token, room) == 3

    assert (await delete(server, bob_token, room, 1)).status_code == 204
    assert (await delete(server, alice_token, room, 3)).status_code == 204
    assert (await delete(server, root_token, room, 2)).status_code == 204
    history = await server.history(alice_token, room)
    assert [(m["seq"], m["deleted"], m["user"]["id"]) for m in history] == [
        (1, True, bob["id"]),
        (2, True, bob["id"]),
        (3, True, alice["id"]),
    ]
