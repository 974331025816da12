"""SPEC 3.6 and guarantee 10: replies in threads, over a socket and REST; their roots'
counts live, on replay and on the events page; invalid_thread; deletes recount."""

from __future__ import annotations

from tests.realtime.conftest import LiveServer, auth
from tests.realtime.mux import connect_mux
from tests.streams import (
    delete,
    edit,
    events,
    last_seq,
    mux_entry,
    mux_replayed,
    next_entry,
    post,
    replayed,
    said,
    send,
    thread,
    without_room,
)


async def test_a_reply_carries_its_roots_counts_live_on_replay_and_on_the_events_page(server: LiveServer) -> None:
    _, alice_token = await server.user("alice")
    _, bob_token = await server.user("bob")
    room = (await server.room(alice_token, "general"))["id"]
    await post(server, alice_token, room, "root")  # 1
    watcher = await server.connect(room, bob_token, since=1)
    await replayed(watcher)
    mux = await connect_mux(server, bob_token)
    await mux.subscribe([(room, 1)])
    await mux_replayed(mux, room)

    sock = await server.connect(room, bob_token)
    await replayed(sock)
    first = await said(sock, "over the socket", "r1", thread_seq=1)  # 2
    assert (first["seq"], first["thread_seq"], first["updated_seq"]) == (2, 1, 2)
    assert first["root"] == {"seq": 1, "reply_count": 1, "last_reply_at": first["created_at"]}
    r = await send(server, alice_token, room, "over REST", client_msg_id="r2", thread_seq=1)  # 3
    assert r.status_code == 201, r.text
    second = r.json()
    assert (second["seq"], second["thread_seq"], second["reply_count"]) == (3, 1, 0) and "root" not in second
    live = [await next_entry(watcher) for _ in range(2)]
    assert live[0] == first
    assert live[1] == {
        "type": "message",
        **second,
        "root": {"seq": 1, "reply_count": 2, "last_reply_at": second["created_at"]},
    }
    assert without_room([await mux_entry(mux, room) for _ in range(2)]) == live

    # Resent: nothing new, the original, over REST and the socket alike.
    again = await send(server, alice_token, room, "over REST", client_msg_id="r2", thread_seq=1)
    assert again.status_code == 200 and again.json() == second
    assert (await next_entry(sock))["seq"] == 3
    await sock.send({"type": "message", "body": "over the socket", "client_msg_id": "r1", "thread_seq": 1})
    assert await next_entry(sock) == {**first, "duplicate": True}
    assert await last_seq(server, bob_token, room) == 3

    # The stream: the root in its current state, each reply with its root as of it.
    stream = await events(server, bob_token, room)
    assert [(f["seq"], f["thread_seq"]) for f in stream] == [(1, None), (2, 1), (3, 1)]
    root = stream[0]
    assert (root["reply_count"], root["last_reply_at"], root["updated_seq"]) == (2, second["created_at"], 3)
    assert stream[1:] == live
    fresh = await server.connect(room, bob_token, since=0)
    assert (await replayed(fresh))[1] == stream

    # History lists top-level messages; the thread pages its replies.
    assert [m["seq"] for m in await server.history(bob_token, room)] == [1]
    page = await thread(server, bob_token, room, 1)
    assert page == {
        "root": {k: v for k, v in root.items() if k != "type"},
        "items": [{k: v for k, v in f.items() if k not in ("type", "root")} for f in live],
        "has_more": False,
    }
    page = await thread(server, bob_token, room, 1, after_seq=0, limit=1)
    assert [m["seq"] for m in page["items"]] == [2] and page["has_more"] is True
    for not_a_root in (2, 4, 99):  # a reply, nothing
        r = await server.http.get(f"/rooms/{room}/threads/{not_a_root}", headers=auth(bob_token))
        assert r.status_code == 404, r.text


async def test_a_reply_to_anything_but_a_top_level_message_is_invalid_thread_and_stores_nothing(
    server: LiveServer,
) -> None:
    _, token = await server.user("alice")
    room = (await server.room(token, "general"))["id"]
    await post(server, token, room, "root", "doomed")  # 1, 2
    assert (await send(server, token, room, "a reply", thread_seq=1)).status_code == 201  # 3
    assert (await edit(server, token, room, 1, "root, edited")).status_code == 200  # 4
    assert (await delete(server, token, room, 2)).status_code == 204  # 5
    sock = await server.connect(room, token)
    await replayed(sock)
    mux = await connect_mux(server, token)
    await mux.subscribe([(room, 5)])
    await mux_replayed(mux, room)

    for bad in (3, 4, 5, 2, 99):  # a reply, an edit, a delete, a deleted message, nothing
        await sock.send({"type": "message", "body": "x", "client_msg_id": f"c{bad}", "thread_seq": bad})
        error = await sock.recv()
        assert (error["type"], error["code"], error["client_msg_id"]) == ("error", "invalid_thread", f"c{bad}")
        await mux.send({"type": "message", "room": room, "body": "x", "thread_seq": bad, "ref": f"q{bad}"})
        error = await mux.error("invalid_thread", room)
        assert error["ref"] == f"q{bad}"
        r = await send(server, token, room, "x", client_msg_id=f"c{bad}", thread_seq=bad)
        assert r.status_code == 409, r.text
        assert r.json()["detail"]["code"] == "invalid_thread"
    assert await last_seq(server, token, room) == 5
    assert (await said(sock, "a good one", "good", thread_seq=1))["seq"] == 6


async def test_deleting_a_reply_recounts_its_root_deleting_the_root_leaves_its_replies(server: LiveServer) -> None:
    _, alice_token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    room = (await server.room(alice_token, "general"))["id"]
    await post(server, alice_token, room, "root")  # 1
    replies = [
        (await send(server, bob_token, room, f"r{i}", client_msg_id=f"r{i}", thread_seq=1)).json() for i in (2, 3)
    ]
    watcher = await server.connect(room, alice_token, since=3)
    await replayed(watcher)

    assert (await delete(server, bob_token, room, 3)).status_code == 204  # 4
    assert await next_entry(watcher) == {
        "type": "delete",
        "seq": 4,
        "target_seq": 3,
        "user": {"id": bob["id"], "username": "bob"},
        "unpinned": False,
        "root": {"seq": 1, "reply_count": 1, "last_reply_at": replies[0]["created_at"]},
    }
    page = await thread(server, alice_token, room, 1)
    root = page["root"]
    assert (root["reply_count"], root["last_reply_at"], root["updated_seq"]) == (1, replies[0]["created_at"], 4)
    assert [(m["seq"], m["deleted"], m["body"]) for m in page["items"]] == [(2, False, "r2"), (3, True, None)]

    assert (await delete(server, alice_token, room, 1)).status_code == 204  # 5: the root
    frame = await next_entry(watcher)
    assert frame["target_seq"] == 1 and "root" not in frame
    page = await thread(server, alice_token, room, 1)
    assert (page["root"]["deleted"], page["root"]["reply_count"], page["root"]["updated_seq"]) == (True, 1, 5)
    assert page["items"][0] == replies[0]  # untouched
    # A resend of a reply stored before its root went: the original, not invalid_thread.
    r = await send(server, bob_token, room, "r2", client_msg_id="r2", thread_seq=1)
    assert r.status_code == 200 and r.json() == replies[0]
    assert (await send(server, bob_token, room, "late", thread_seq=1)).status_code == 409
    assert await last_seq(server, bob_token, room) == 5
