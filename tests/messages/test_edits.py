"""PATCH /rooms/{id}/messages/{seq}, against a real server and real sockets."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from service.db import utcnow
from service.messages.models import Message
from tests.blanks import INVISIBLE
from tests.realtime.conftest import LiveServer, ServerFactory, auth
from tests.realtime.mux import connect_mux
from tests.streams import admin, delete, edit, last_seq, mux_entry, mux_replayed, next_entry, post, replayed

EDIT_KEYS = {"type", "seq", "target_seq", "body", "edited_at", "user", "mentions", "mentions_room"}


async def test_the_author_edits_and_every_socket_of_the_room_sees_it_as_the_next_seq(server: LiveServer) -> None:
    alice, alice_token = await server.user("alice")
    _, bob_token = await server.user("bob")
    room = (await server.room(alice_token, "general"))["id"]
    (original,) = await post(server, alice_token, room, "frist")
    own, other = await server.connect(room, alice_token), await server.connect(room, bob_token)
    for client in (own, other):
        await replayed(client)
    mux = await connect_mux(server, bob_token)
    await mux.subscribe([(room, 1)])
    await mux_replayed(mux, room)

    r = await edit(server, alice_token, room, 1, "first")
    assert r.status_code == 200, r.text
    message = r.json()
    assert {k: message[k] for k in ("id", "seq", "body", "deleted", "client_msg_id")} == {
        "id": original["id"],
        "seq": 1,
        "body": "first",
        "deleted": False,
        "client_msg_id": original["client_msg_id"],
    }
    assert message["created_at"] == original["created_at"]
    assert message["edited_at"] is not None and message["edited_at"].endswith("Z")
    expected = {
        "type": "edit",
        "seq": 2,
        "target_seq": 1,
        "body": "first",
        "edited_at": message["edited_at"],
        "user": {"id": alice["id"], "username": "alice"},
        "mentions": [],
        "mentions_room": False,
    }
    assert await next_entry(own) == expected
    assert await next_entry(other) == expected
    assert await mux_entry(mux, room) == {**expected, "room": room}
    assert set(expected) == EDIT_KEYS

    # History shows the message in its current state; its seqs skip the event.
    (shown,) = await server.history(bob_token, room)
    assert shown == {k: v for k, v in message.items()} and shown["body"] == "first"
    assert await last_seq(server, bob_token, room) == 2

    r = await edit(server, alice_token, room, 1, "first!")
    assert r.status_code == 200 and r.json()["edited_at"] >= message["edited_at"]
    again = await next_entry(other)
    assert (again["seq"], again["target_seq"], again["body"]) == (3, 1, "first!")
    assert await last_seq(server, bob_token, room) == 3


async def test_only_the_author_may_edit_not_the_owner_nor_an_admin(server: LiveServer) -> None:
    _, owner_token = await server.user("owner")
    _, bob_token = await server.user("bob")
    _, carol_token = await server.user("carol")
    _, admin_token = await admin(server, "root")
    room = (await server.room(owner_token, "general"))["id"]
    await post(server, bob_token, room, "bob's words")
    for token in (owner_token, carol_token, admin_token):
        r = await edit(server, token, room, 1, "not yours")
        assert r.status_code == 403, r.text
    assert await last_seq(server, bob_token, room) == 1
    (shown,) = await server.history(bob_token, room)
    assert shown["body"] == "bob's words" and shown["edited_at"] is None


async def test_unknown_seqs_events_and_rooms_the_caller_cannot_read_are_not_found(server: LiveServer) -> None:
    _, alice_token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    public = (await server.room(alice_token, "public"))["id"]
    await post(server, alice_token, public, "hello")
    assert (await edit(server, alice_token, public, 1, "hello!")).status_code == 200  # the event is seq 2
    for seq in (2, 3, 999):
        for r in (await edit(server, alice_token, public, seq, "x"), await delete(server, alice_token, public, seq)):
            assert r.status_code == 404, (seq, r.text)
    assert (await edit(server, alice_token, public, 0, "x")).status_code == 422
    assert (await edit(server, alice_token, 9999, 1, "x")).status_code == 404

    # Bob wrote in a private room, then was removed from it: it is not found for him, not forbidden.
    private = (await server.room(alice_token, "private", private=True))["id"]
    r = await server.http.post(f"/rooms/{private}/members", json={"username": "bob"}, headers=auth(alice_token))
    assert r.status_code == 201
    await post(server, bob_token, private, "inside")
    r = await server.http.delete(f"/rooms/{private}/members/{bob['id']}", headers=auth(alice_token))
    assert r.status_code == 204
    for r in (await edit(server, bob_token, private, 1, "x"), await delete(server, bob_token, private, 1)):
        assert r.status_code == 404, r.text
        assert r.json() == {"detail": "room not found"}
    assert await last_seq(server, alice_token, private) == 1


async def test_a_deleted_message_cannot_be_edited(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = (await server.room(token, "general"))["id"]
    await post(server, token, room, "oops")
    assert (await delete(server, token, room, 1)).status_code == 204
    r = await edit(server, token, room, 1, "revived")
    assert r.status_code == 409, r.text
    assert await last_seq(server, token, room) == 2
    (shown,) = await server.history(token, room)
    assert shown["body"] is None and shown["deleted"] is True


async def test_bodies_are_checked_like_messages(make_server: ServerFactory) -> None:
    server = await make_server(max_message_chars=10)
    _, token = await server.user("alice")
    room = (await server.room(token, "general"))["id"]
    await post(server, token, room, "hello")
    # Blank as the socket sees it: whitespace and invisible characters only.
    blank = ("", " ", " \t\n ", "\u3000", "\x1c", "\x1d\x1e\x1f", " \x1f ", *INVISIBLE.values())
    for body in (*blank, "a\x00b", "\x00", "x" * 11, None, 5, ["x"]):
        r = await edit(server, token, room, 1, body)
        assert r.status_code == 422, (body, r.text)
        if body in blank:
            assert r.json()["detail"][0]["msg"].startswith("must not be blank"), (body, r.text)
    socket = await server.connect(room, token)
    await replayed(socket)
    for body in blank:
        await socket.message(body)
        assert (await socket.recv())["code"] == "empty_body", body
    r = await server.http.patch(f"/rooms/{room}/messages/1", json={}, headers=auth(token))
    assert r.status_code == 422
    r = await server.http.patch(f"/rooms/{room}/messages/1", json={"body": "ok", "seq": 3}, headers=auth(token))
    assert r.status_code == 422
    assert await last_seq(server, token, room) == 1
    (shown,) = await server.history(token, room)
    assert shown["body"] == "hello" and shown["edited_at"] is None
    r = await edit(server, token, room, 1, "x" * 10)
    assert r.status_code == 200 and r.json()["body"] == "x" * 10
    r = await edit(server, token, room, 1, " ünï ")
    assert r.status_code == 200 and r.json()["body"] == " ünï "


async def _age(server: LiveServer, room_id: int, seq: int, minutes: float) -> None:
    """Make a stored message look `minutes` old."""
    table = Message.__table__
    async with server.state.engine.begin() as conn:
        await conn.execute(
            update(table)
            .where(table.c.room_id == room_id, table.c.seq == seq)
            .values(created_at=utcnow() - timedelta(minutes=minutes))
        )


async def test_edits_past_the_edit_window_are_refused_deletes_have_no_window(make_server: ServerFactory) -> None:
    server = await make_server(edit_window_minutes=5)
    _, token = await server.user("alice")
    room = (await server.room(token, "general"))["id"]
    await post(server, token, room, "old", "older", "recent")
    await _age(server, room, 1, 6)
    await _age(server, room, 2, 60 * 24)
    await _age(server, room, 3, 4)
    for seq in (1, 2):
        r = await edit(server, token, room, seq, "too late")
        assert r.status_code == 403, r.text
    assert await last_seq(server, token, room) == 3
    assert (await edit(server, token, room, 3, "in time")).status_code == 200
    assert (await delete(server, token, room, 2)).status_code == 204
    assert [m["body"] for m in await server.history(token, room)] == ["old", None, "in time"]
    assert await last_seq(server, token, room) == 5


async def test_without_an_edit_window_old_messages_stay_editable(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = (await server.room(token, "general"))["id"]
    await post(server, token, room, "ancient")
    await _age(server, room, 1, 60 * 24 * 365)
    r = await edit(server, token, room, 1, "still mine")
    assert r.status_code == 200 and r.json()["body"] == "still mine"
