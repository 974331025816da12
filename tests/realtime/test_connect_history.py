"""A first connect (no `since`) gets the room's newest CHAT_HISTORY_ON_CONNECT
messages with every entry after the first of them, in their current state, and
costs no database read while the room's feed holds them.

A feed holds its newest entries as delivered; an entry changing one of them
(an edit, a reaction, a pin, a reply to it, a delete) makes it read again, and
one changing an older message does not."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from service.realtime.feed import RECENT_ENTRIES
from tests.realtime.conftest import Client, LiveServer, ServerFactory, auth, wait_until
from tests.realtime.mux import connect_mux
from tests.storing import store_message


def statements(server: LiveServer) -> list[str]:
    """Every statement the server runs from here on, on any of its engines."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    for engine in {id(e): e for e in (server.state.engine, server.state.read_engine)}.values():
        event.listen(engine.sync_engine, "before_cursor_execute", before)
    return seen


async def _keeper(server: LiveServer, room_id: int, token: str) -> Client:
    """A socket that keeps the room's feed open (and the user's token checked)."""
    keeper = await server.connect(room_id, token)
    await keeper.handshake()
    return keeper


async def _say(keeper: Client, *bodies: str) -> list[dict[str, Any]]:
    for body in bodies:
        await keeper.message(body)
    return await keeper.messages(len(bodies))


async def _first_connect(server: LiveServer, room_id: int, token: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    client = await server.connect(room_id, token)
    _, replay, synced = await client.handshake()
    await client.close()
    return replay, synced


async def test_a_first_connect_is_served_from_the_feed_without_the_database(make_server: ServerFactory) -> None:
    server = await make_server(history_on_connect=3)
    _, token = await server.user("alice")
    rid = (await server.room(token, "general"))["id"]
    keeper = await _keeper(server, rid, token)
    await _say(keeper, "m1", "m2", "m3", "m4", "m5")
    seen = statements(server)
    replay, synced = await _first_connect(server, rid, token)
    assert [(f["type"], f["seq"], f["body"]) for f in replay] == [
        ("message", 3, "m3"),
        ("message", 4, "m4"),
        ("message", 5, "m5"),
    ]
    assert synced == {"type": "synced", "last_seq": 5, "replayed": 3, "truncated": False}
    assert seen == []


async def test_a_ws_subscribe_without_since_is_served_from_the_feed(make_server: ServerFactory) -> None:
    server = await make_server(history_on_connect=2)
    _, token = await server.user("alice")
    rid = (await server.room(token, "general"))["id"]
    keeper = await _keeper(server, rid, token)
    await _say(keeper, "m1", "m2", "m3")
    device = await connect_mux(server, token)
    seen = statements(server)
    await device.subscribe([rid])
    answer = await device.handshake(rid)
    assert answer.seqs == [2, 3] and answer.synced["last_seq"] == 3
    assert seen == []


async def test_an_edit_of_an_older_message_keeps_the_newest_in_the_feed(make_server: ServerFactory) -> None:
    server = await make_server(history_on_connect=3)
    _, token = await server.user("alice")
    rid = (await server.room(token, "general"))["id"]
    keeper = await _keeper(server, rid, token)
    await _say(keeper, "m1", "m2", "m3", "m4", "m5")
    r = await server.http.patch(f"/rooms/{rid}/messages/1", json={"body": "m1, edited"}, headers=auth(token))
    assert r.status_code == 200, r.text
    await keeper.recv_type("edit")
    seen = statements(server)
    replay, _ = await _first_connect(server, rid, token)
    assert [(f["type"], f["seq"]) for f in replay] == [("message", 3), ("message", 4), ("message", 5), ("edit", 6)]
    assert replay[-1]["target_seq"] == 1 and replay[-1]["body"] == "m1, edited"
    assert seen == []


async def _changed_room(server: LiveServer) -> tuple[int, str, Client]:
    """Five messages, then an edit of the 4th, a reaction on the 5th, a reply to the
    3rd and a delete of the 1st, all delivered to a keeper."""
    _, token = await server.user("alice")
    rid = (await server.room(token, "general"))["id"]
    keeper = await _keeper(server, rid, token)
    await _say(keeper, "m1", "m2", "m3", "m4", "m5")
    r = await server.http.patch(f"/rooms/{rid}/messages/4", json={"body": "m4, edited"}, headers=auth(token))
    assert r.status_code == 200, r.text
    r = await server.http.put(f"/rooms/{rid}/messages/5/reactions/%F0%9F%91%8D", headers=auth(token))
    assert r.status_code == 204, r.text
    await keeper.send({"type": "message", "body": "on m3", "thread_seq": 3})
    r = await server.http.delete(f"/rooms/{rid}/messages/1", headers=auth(token))
    assert r.status_code == 204, r.text
    await keeper.recv_type("delete")
    return rid, token, keeper


def _check_changed(replay: list[dict[str, Any]]) -> None:
    # The newest three messages are the reply (8), 5 and 4; every entry after 4 follows.
    assert [(f["type"], f["seq"]) for f in replay] == [
        ("message", 4),
        ("message", 5),
        ("edit", 6),
        ("reaction", 7),
        ("message", 8),
        ("delete", 9),
    ]
    m4, m5 = replay[0], replay[1]
    assert (m4["body"], m4["updated_seq"]) == ("m4, edited", 6) and m4["edited_at"] is not None
    assert m5["updated_seq"] == 7 and [(r["emoji"], r["count"]) for r in m5["reactions"]] == [("👍", 1)]
    assert replay[4]["thread_seq"] == 3 and replay[5]["target_seq"] == 1


async def test_changes_after_the_newest_replay_them_in_their_current_state(make_server: ServerFactory) -> None:
    """While the feed is open (it must read again) and from a feed opened afresh
    (it read them so): the same frames."""
    server = await make_server(history_on_connect=3)
    rid, token, keeper = await _changed_room(server)
    replay, synced = await _first_connect(server, rid, token)
    _check_changed(replay)
    assert synced["last_seq"] == 9

    await keeper.close()
    await wait_until(lambda: rid not in server.state.hub.feeds.open)
    keeper = await _keeper(server, rid, token)  # the feed opens, reading the room as it is
    seen = statements(server)
    again, _ = await _first_connect(server, rid, token)
    assert again == replay
    assert seen == []


async def test_a_server_started_on_stored_history_replays_its_newest(make_server: ServerFactory) -> None:
    server = await make_server(history_on_connect=4)
    user, token = await server.user("alice")
    rid = (await server.room(token, "general"))["id"]
    for n in range(1, 8):
        await store_message(server.state.engine, rid, user["id"], f"m{n}")
    replay, synced = await _first_connect(server, rid, token)  # the first socket: the feed opens
    assert [f["body"] for f in replay] == ["m4", "m5", "m6", "m7"]
    assert synced["last_seq"] == 7


async def test_more_history_than_the_feed_keeps_is_read_from_the_database(make_server: ServerFactory) -> None:
    count = RECENT_ENTRIES + 2
    server = await make_server(history_on_connect=count)
    user, token = await server.user("alice")
    rid = (await server.room(token, "general"))["id"]
    for n in range(1, count + 4):
        await store_message(server.state.engine, rid, user["id"], f"m{n}")
    keeper = await _keeper(server, rid, token)
    await _say(keeper, "live")
    replay, synced = await _first_connect(server, rid, token)
    assert [f["seq"] for f in replay] == list(range(5, count + 5))
    assert replay[-1]["body"] == "live" and synced["last_seq"] == count + 4
    await keeper.close()
