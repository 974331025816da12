"""Guarantees 3 and 8 with edits and deletes in the stream: live, replayed with `since`
on both sockets, and paged over GET /rooms/{id}/events exactly as a socket replays it."""

from __future__ import annotations

from typing import Any

from service.messages.store import Pending
from tests.realtime.conftest import Client, LiveServer, ServerFactory, auth
from tests.realtime.mux import connect_mux
from tests.storing import store_batch
from tests.streams import (
    Frame,
    delete,
    edit,
    events,
    events_page,
    mux_entry,
    mux_replayed,
    next_entry,
    replayed,
    said,
    without_room,
)


async def _mix(server: LiveServer, room: int, alice: str, bob: str) -> None:
    """Messages of two users, edits, an edit of an edited message, deletes (one of an edited message)."""
    a, b = await server.connect(room, alice), await server.connect(room, bob)
    for client in (a, b):
        await replayed(client)
    await said(a, "a1", "a1")  # 1
    await said(b, "b1", "b1")  # 2
    assert (await edit(server, alice, room, 1, "a1 v2")).status_code == 200  # 3
    await said(a, "a2", "a2")  # 4
    assert (await delete(server, bob, room, 2)).status_code == 204  # 5
    assert (await edit(server, alice, room, 1, "a1 v3")).status_code == 200  # 6
    await said(b, "b2", "b2")  # 7
    assert (await edit(server, alice, room, 4, "a2 v2")).status_code == 200  # 8
    assert (await delete(server, alice, room, 4)).status_code == 204  # 9
    await said(a, "a3", "a3")  # 10
    await a.close()
    await b.close()


def _check_current_state(stream: list[Frame]) -> None:
    """Message frames in their current state; edits of deleted messages without a body."""
    by_seq = {f["seq"]: f for f in stream}
    deleted = {f["target_seq"] for f in stream if f["type"] == "delete"}
    for f in stream:
        if f["type"] == "message":
            assert f["deleted"] == (f["seq"] in deleted) and (f["body"] is None) == f["deleted"], f
            last_edit = [e for e in stream if e["type"] == "edit" and e["target_seq"] == f["seq"]]
            if last_edit and not f["deleted"]:
                assert (f["body"], f["edited_at"]) == (last_edit[-1]["body"], last_edit[-1]["edited_at"])
        elif f["type"] == "edit" and f["target_seq"] in deleted:
            assert f["body"] is None, f
        if f["type"] != "message":
            assert by_seq[f["target_seq"]]["type"] == "message"


async def test_a_live_reader_sees_messages_edits_and_deletes_once_in_seq_order(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    reader = await server.connect(room, bob, since=0)
    await replayed(reader)
    mux = await connect_mux(server, bob)
    await mux.subscribe([(room, 0)])
    await mux_replayed(mux, room)
    await _mix(server, room, alice, bob)
    live = [await next_entry(reader) for _ in range(10)]
    mux_live = [await mux_entry(mux, room) for _ in range(10)]
    assert [f["seq"] for f in live] == list(range(1, 11))
    assert [f["type"] for f in live] == ["message", "message", "edit", "message", "delete"] + [
        "edit",
        "message",
        "edit",
        "delete",
        "message",
    ]
    assert without_room(mux_live) == live and all(f["room"] == room for f in mux_live)
    # Live frames say what was true then: the edit of a message deleted later kept its body.
    assert [f["body"] for f in live if f["type"] == "edit"] == ["a1 v2", "a1 v3", "a2 v2"]
    await mux.pong()
    assert mux.stream(room) == [1, 2, 4, 7, 10]  # no message frame twice


async def test_every_resume_point_replays_what_events_pages_frame_by_frame(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await _mix(server, room, alice, bob)
    stream = await events(server, bob, room)
    assert [f["seq"] for f in stream] == list(range(1, 11))
    _check_current_state(stream)
    assert [(f["seq"], f["body"]) for f in stream if f["type"] == "edit"] == [(3, "a1 v2"), (6, "a1 v3"), (8, None)]
    assert [(f["body"], f["deleted"]) for f in stream if f["type"] == "message"] == [
        ("a1 v3", False),
        (None, True),
        (None, True),
        ("b2", False),
        ("a3", False),
    ]
    mux = await connect_mux(server, bob)
    for since in range(0, 12):
        client = await server.connect(room, bob, since=since)
        _, replay, synced = await replayed(client)
        expected = [f for f in stream if f["seq"] > since]
        assert replay == expected, since
        assert (await events(server, bob, room, after=since)) == expected
        assert synced == {"type": "synced", "last_seq": 10, "replayed": len(expected), "truncated": False}
        await client.close()
        await mux.subscribe([(room, since)], ref=f"s{since}")
        _, mux_replay, mux_synced = await mux_replayed(mux, room)
        assert without_room(mux_replay) == expected and mux_synced["last_seq"] == 10, since
        await mux.unsubscribe([room])
        await mux.next_type("unsubscribed", room)


async def test_a_reader_resuming_across_changes_sees_each_event_once_in_order(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    writer = await server.connect(room, alice)
    await replayed(writer)
    seen: list[Frame] = []
    messages: list[int] = []  # seqs of messages not deleted
    cursor = 0
    for round_ in range(5):
        # The reader is away: a message, edits of the newest two, a delete of the oldest,
        # changes to messages it saw before and to ones it has not seen yet.
        messages.append((await said(writer, f"r{round_}", f"r{round_}"))["seq"])
        for target in messages[-2:]:
            assert (await edit(server, alice, room, target, f"r{round_} edit of {target}")).status_code == 200
        if len(messages) >= 3:
            assert (await delete(server, alice, room, messages.pop(0))).status_code == 204
        reader = await server.connect(room, bob, since=cursor)
        _, replay, synced = await replayed(reader)
        # The replay is the stream as it stands now, from the cursor: messages in their current state.
        assert replay == await events(server, bob, room, after=cursor)
        seen += replay
        # Live for a while, then away again.
        seen.append(await _live_one(writer, reader, round_))
        cursor = seen[-1]["seq"]
        assert synced["last_seq"] == cursor - 1
        messages.append(cursor)
        await reader.close()
    stream = await events(server, bob, room)
    assert [f["seq"] for f in seen] == list(range(1, len(stream) + 1))
    assert [(f["type"], f.get("target_seq")) for f in seen] == [(f["type"], f.get("target_seq")) for f in stream]
    assert sum(f["type"] == "delete" for f in seen) == 4 and sum(f["type"] == "edit" for f in seen) == 9
    _check_current_state(stream)


async def _live_one(writer: Client, reader: Client, round_: int) -> Frame:
    echo = await said(writer, f"r{round_}-live", f"r{round_}-live")
    frame = await next_entry(reader)
    assert frame == echo
    return frame


async def test_events_paging_and_its_bounds(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, stranger = await server.user("stranger")
    room = (await server.room(alice, "general"))["id"]
    private = (await server.room(alice, "private", private=True))["id"]
    await _mix(server, room, alice, alice)
    stream = await events(server, alice, room)
    pages: list[Frame] = []
    after = 0
    while True:
        r = await events_page(server, alice, room, after_seq=after, limit=3)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"items", "has_more"} and len(page["items"]) <= 3
        pages += page["items"]
        if not page["has_more"]:
            break
        after = page["items"][-1]["seq"]
    assert pages == stream and len(pages) == 10
    last = (await events_page(server, alice, room, after_seq=7, limit=3)).json()
    assert [f["seq"] for f in last["items"]] == [8, 9, 10] and last["has_more"] is False
    empty = (await events_page(server, alice, room, after_seq=10)).json()
    assert empty == {"items": [], "has_more": False}
    assert (await events_page(server, alice, room, after_seq=0, limit=500)).json()["items"] == stream
    bad: list[dict[str, Any]] = [{}, {"limit": 5}, {"after_seq": -1}, {"after_seq": "x"}]
    bad += [{"after_seq": 0, "limit": 0}, {"after_seq": 0, "limit": 501}, {"after_seq": 2**31}]
    for params in bad:
        r = await events_page(server, alice, room, **params)
        assert r.status_code == 422, (params, r.text)
    assert (await events_page(server, stranger, private, after_seq=0)).status_code == 404
    assert (await events_page(server, stranger, 99999, after_seq=0)).status_code == 404
    r = await server.http.get(f"/rooms/{room}/events", params={"after_seq": 0})
    assert r.status_code == 401
    assert (await server.http.get(f"/rooms/{room}/events", params={"after_seq": 0}, headers=auth(stranger))).json()[
        "items"
    ] == stream  # any user reads a public room's stream


async def test_a_truncated_replay_is_completed_by_paging_events(make_server: ServerFactory) -> None:
    server = await make_server(max_replay=4)
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await _mix(server, room, alice, bob)
    stream = await events(server, bob, room)
    client = await server.connect(room, bob, since=1)
    _, replay, synced = await replayed(client)
    assert replay == stream[-4:]
    assert synced == {"type": "synced", "last_seq": 10, "replayed": 4, "truncated": True}
    gap = [f for f in await events(server, bob, room, after=1) if f["seq"] < replay[0]["seq"]]
    assert gap + replay == stream[1:]
    # Without since: the newest 3 messages (4, 7, 10), and the edits and deletes among them
    # (a second server on the same database, whose CHAT_MAX_REPLAY does not cut them).
    roomy = await make_server(history_on_connect=3)
    newest = await roomy.connect(room, bob)
    _, replay, synced = await replayed(newest)
    assert replay == stream[3:] and [f["seq"] for f in replay if f["type"] == "message"] == [4, 7, 10]
    assert synced == {"type": "synced", "last_seq": 10, "replayed": 7, "truncated": False}


async def test_history_lists_messages_only_and_pages_across_the_events(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await _mix(server, room, alice, bob)  # messages at 1, 2, 4, 7, 10

    async def page(**params: int) -> tuple[list[int], bool]:
        r = await server.http.get(f"/rooms/{room}/messages", params=params, headers=auth(bob))
        assert r.status_code == 200, r.text
        return [m["seq"] for m in r.json()["items"]], r.json()["has_more"]

    assert await page(after_seq=0, limit=2) == ([1, 2], True)
    assert await page(after_seq=2, limit=2) == ([4, 7], True)
    assert await page(after_seq=7, limit=2) == ([10], False)
    assert await page(after_seq=3, limit=1) == ([4], True)
    assert await page(before_seq=10, limit=2) == ([4, 7], True)
    assert await page(before_seq=4, limit=2) == ([1, 2], False)
    assert await page(limit=3) == ([4, 7, 10], True)
    assert await page(after_seq=4, before_seq=10) == ([7], False)


async def test_msgpack_sockets_get_the_same_stream_frames(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    packed = await server.connect(room, bob, since=0, subprotocols=["chat.v1.msgpack"])
    await replayed(packed)
    plain = await server.connect(room, bob, since=0)
    await replayed(plain)
    await _mix(server, room, alice, bob)
    live = [await next_entry(packed) for _ in range(10)]
    assert live == [await next_entry(plain) for _ in range(10)]
    again = await server.connect(room, bob, since=0, subprotocols=["chat.v1.msgpack"])
    _, replay, _ = await replayed(again)
    assert replay == await events(server, bob, room)
    await packed.send({"type": "read", "seq": 3})
    await packed.send({"type": "read", "seq": "3"})
    assert (await packed.recv())["code"] == "invalid_frame"


async def test_events_pages_a_hundred_by_default(server: LiveServer) -> None:
    user, alice = await server.user("alice")
    room = (await server.room(alice, "general"))["id"]
    pending = [Pending(room, user["id"], "alice", f"m{i}", None) for i in range(130)]
    await store_batch(server.state.engine, pending)
    page = (await events_page(server, alice, room, after_seq=0)).json()
    assert [f["seq"] for f in page["items"]] == list(range(1, 101)) and page["has_more"] is True
    page = (await events_page(server, alice, room, after_seq=100)).json()
    assert [f["seq"] for f in page["items"]] == list(range(101, 131)) and page["has_more"] is False
