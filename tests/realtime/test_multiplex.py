"""one socket for many rooms, `GET /ws`, against a real server and a real client.

Guarantees 3 (exactly-once replay), 5 (no head-of-line blocking) and 9 (one socket,
many rooms, each room's stream as on a per-room socket) are checked room by room."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed

from service.auth.security import TokenCodec
from tests.conftest import PASSWORD, TEST_KEY, make_settings
from tests.realtime.conftest import EXPIRY_MARGIN_S, Client, LiveServer, ServerFactory, auth, serve, wait_until
from tests.realtime.mux import Frame, Mux, check_handshake_order, connect_mux, mux_url, room_of

MSGPACK = "chat.v1.msgpack"
JSON = "chat.v1.json"


def has(frame: Frame, **fields: Any) -> bool:
    return all(frame.get(k) == v for k, v in fields.items())


def tagged(messages: list[Frame], room_id: int) -> list[Frame]:
    """Per-room message frames as /ws carries them: with `room` added."""
    return [{**m, "room": room_id} for m in messages]


async def fill(server: LiveServer, token: str, room_id: int, count: int, tag: str = "m") -> list[Frame]:
    """Send `count` messages on a per-room socket, each after the echo of the one before; the echoes."""
    client = await server.connect(room_id, token)
    await client.handshake()
    echoes: list[Frame] = []
    for i in range(count):
        cid = f"{tag}-{room_id}-{i}"
        await client.message(cid, cid)
        while (frame := await client.recv())["type"] != "message" or frame["client_msg_id"] != cid:
            assert frame["type"] != "error", frame
        echoes.append(frame)
    await client.close()
    return echoes


async def get_room(server: LiveServer, token: str, room_id: int) -> Frame:
    r = await server.http.get(f"/rooms/{room_id}", headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


async def add_member(server: LiveServer, owner_token: str, room_id: int, username: str) -> None:
    r = await server.http.post(f"/rooms/{room_id}/members", json={"username": username}, headers=auth(owner_token))
    assert r.status_code == 201, r.text


async def quiet(mux: Mux, room_id: int, after: int) -> None:
    """Nothing about the room came after log position `after`, up to a pong just asked for."""
    await mux.pong()
    late = [f for f in mux.log[after:] if room_of(f) == room_id]
    assert late == [], late


# Handshake -----------------------------------------------------------------------


async def test_hello_comes_first_and_nothing_else_until_subscribe(server: LiveServer) -> None:
    alice, token = await server.user("alice")
    await server.room(token, "general")
    mux = await connect_mux(server, token, hello=False)
    assert await mux.recv() == {"type": "hello", "user": alice}
    await mux.ping()
    assert await mux.recv() == {"type": "pong"}  # no room is subscribed by itself


async def test_handshake_failures_accept_then_close_1008_with_reason(make_server: ServerFactory) -> None:
    server = await make_server(allowed_origins="https://chat.example")
    user, token = await server.user("alice")
    codec = TokenCodec(TEST_KEY, server.state.settings)
    expired = codec.issue(user["id"], "access", now=datetime.now(UTC) - timedelta(hours=1)).token
    revoked = (await server.user("carol"))[1]
    assert (await server.http.post("/auth/logout", headers=auth(revoked))).status_code == 204

    async def close_of(token: str | None, **kwargs: Any) -> tuple[int, str]:
        return await (await connect_mux(server, token, hello=False, **kwargs)).closed()

    assert await close_of(None) == (1008, "missing token")
    assert await close_of("garbage") == (1008, "invalid token")
    assert await close_of(expired) == (1008, "token expired")
    assert await close_of(revoked) == (1008, "token revoked")
    assert await close_of(token, origin="https://evil.example") == (1008, "origin not allowed")
    ok = await connect_mux(server, token, origin="https://chat.example")
    await ok.pong()
    # The token may travel as a subprotocol offer, never selected.
    offered = await Mux.open(mux_url(server.base, None), subprotocols=[JSON, f"chat.token.{token}"])
    assert offered.ws.subprotocol == JSON
    assert (await offered.hello())["user"] == user
    refused = await Mux.open(mux_url(server.base, None), subprotocols=[JSON, "chat.token.not-a-token"])
    assert await refused.closed() == (1008, "invalid token")


# Subscribe, cursors, replay --------------------------------------------------------


async def test_one_subscribe_resumes_each_room_from_its_own_cursor(make_server: ServerFactory) -> None:
    server = await make_server(history_on_connect=3, max_replay=4)
    alice, token = await server.user("alice")
    counts = {"a": 5, "b": 3, "c": 5, "d": 2, "e": 0, "f": 6, "g": 2, "h": 4}
    rooms = {name: (await server.room(token, name))["id"] for name in counts}
    sent = {name: await fill(server, token, rooms[name], n) for name, n in counts.items()}
    cursors: dict[str, int | None] = {"a": 2, "b": 0, "c": None, "d": 2, "e": None, "f": 0, "g": 10}
    # since null, and since absent ("h"): the newest CHAT_HISTORY_ON_CONNECT, as on a per-room socket.
    expected_seqs = {"a": [3, 4, 5], "b": [1, 2, 3], "c": [3, 4, 5], "d": [], "e": [], "f": [3, 4, 5, 6]}
    expected_seqs |= {"g": [], "h": [2, 3, 4]}
    order = ["c", "a", "h", "g", "b", "f", "e", "d"]  # not the creation order
    rest = {name: await get_room(server, token, rooms[name]) for name in order}

    mux = await connect_mux(server, token)
    entries = [{"room": rooms[n], "since": cursors[n]} if n in cursors else {"room": rooms[n]} for n in order]
    await mux.send({"type": "subscribe", "rooms": entries})
    answers = {name: await mux.handshake(rooms[name]) for name in order}

    for name in order:
        room_id, answer = rooms[name], answers[name]
        assert answer.welcome["room"] == rest[name], name
        assert alice in answer.welcome["online"], name
        assert answer.replay == tagged([m for m in sent[name] if m["seq"] in expected_seqs[name]], room_id), name
        synced = answer.synced
        assert has(synced, type="synced", room=room_id, last_seq=counts[name]), synced
        assert synced["replayed"] == len(expected_seqs[name]), synced
        assert synced["truncated"] is (name == "f"), synced  # f missed 6, more than CHAT_MAX_REPLAY
    check_handshake_order(mux.log, [rooms[n] for n in order])

    # Live frames follow each synced, once, tagged with their room.
    more = {name: await fill(server, token, rooms[name], 1, tag="live") for name in ("a", "e")}
    for name, echoes in more.items():
        assert await mux.messages_of(rooms[name], 1) == tagged(echoes, rooms[name])
    await mux.pong()
    for name in order:
        assert mux.stream(rooms[name]) == expected_seqs[name] + [m["seq"] for m in more.get(name, [])], name


async def test_live_frames_are_tagged_in_seq_order_and_none_comes_before_synced(server: LiveServer) -> None:
    _, token = await server.user("alice")
    _, bob_token = await server.user("bob")
    rooms = [(await server.room(token, f"busy{i}"))["id"] for i in range(3)]
    per_room = 40
    started = {room_id: asyncio.Event() for room_id in rooms}

    async def flood(room_id: int) -> None:
        client = await server.connect(room_id, token)
        await client.handshake()
        for i in range(per_room):
            await client.message(f"{i}", f"c{i}")
            while (await client.recv_type("message"))["client_msg_id"] != f"c{i}":
                pass
            if i == 4:
                started[room_id].set()
        await client.close()

    senders = [asyncio.create_task(flood(r)) for r in rooms]
    for event in started.values():  # subscribe while every room is being written to
        await event.wait()
    mux = await connect_mux(server, bob_token)
    cursors = {rooms[0]: 0, rooms[1]: None, rooms[2]: 3}
    await mux.subscribe(list(cursors.items()))
    answers = {r: await mux.handshake(r) for r in rooms}
    for r in rooms:
        await mux.messages_of(r, per_room - answers[r].synced["last_seq"], timeout=30)
    await asyncio.gather(*senders)

    check_handshake_order(mux.log, rooms)
    for r, since in cursors.items():
        first = (since or 0) + 1
        assert mux.stream(r) == list(range(first, per_room + 1)), r
        last_seq = answers[r].synced["last_seq"]
        assert answers[r].seqs == list(range(first, last_seq + 1))
        frames = mux.about(r)
        synced_at = frames.index(answers[r].synced)
        assert all(f["seq"] <= last_seq for f in frames[:synced_at] if f["type"] == "message"), r
        assert all(f["seq"] > last_seq for f in frames[synced_at:] if f["type"] == "message"), r
        assert all(f["room"] == f["room_id"] == r for f in frames if f["type"] == "message"), r


async def test_ref_is_echoed_in_the_direct_answers(server: LiveServer) -> None:
    _, token = await server.user("alice")
    a = (await server.room(token, "a"))["id"]
    b = (await server.room(token, "b"))["id"]
    mux = await connect_mux(server, token)
    ref = "r" * 64
    await mux.subscribe([(a, 0), (999999, None)], ref=ref)
    answer = await mux.handshake(a)
    assert answer.welcome["ref"] == ref and answer.synced["ref"] == ref
    error = await mux.error("room_not_found", 999999)
    assert error["ref"] == ref
    await mux.subscribe([a], ref="again")
    assert (await mux.error("already_subscribed", a))["ref"] == "again"
    assert await mux.pong("p-1") == {"type": "pong", "ref": "p-1"}
    await mux.say(b, "hi", "c1", ref="m-1")
    error = await mux.error("not_subscribed", b)
    assert error["ref"] == "m-1" and error["client_msg_id"] == "c1"
    await mux.typing(b, ref="t-1")
    assert (await mux.error("not_subscribed", b))["ref"] == "t-1"
    await mux.unsubscribe([a], ref="u-1")
    assert has(await mux.next_type("unsubscribed", a), room=a, reason="requested", ref="u-1")
    await mux.unsubscribe([a], ref="u-2")
    assert (await mux.error("not_subscribed", a))["ref"] == "u-2"
    assert await mux.pong() == {"type": "pong"}  # no ref asked, none given


# Errors about rooms ------------------------------------------------------------------


async def test_missing_and_invisible_rooms_are_not_found_and_the_others_served(server: LiveServer) -> None:
    _, token = await server.user("alice")
    _, bob_token = await server.user("bob")
    first = (await server.room(token, "first"))["id"]
    secret = (await server.room(token, "secret", private=True))["id"]
    last = (await server.room(token, "last"))["id"]
    await fill(server, token, secret, 2)
    mux = await connect_mux(server, bob_token)
    await mux.subscribe([(first, 0), (999999, 0), (secret, 0), (last, None)])
    await mux.handshake(first)
    for room_id in (999999, secret):
        error = await mux.error("room_not_found", room_id)
        assert "detail" in error and "client_msg_id" in error, error
    await mux.handshake(last)
    answers = [(f["type"], room_of(f)) for f in mux.log if f["type"] in ("welcome", "error")]
    assert answers == [("welcome", first), ("error", 999999), ("error", secret), ("welcome", last)]

    # The private room's traffic never reaches bob; the rooms he may read flow.
    at = len(mux.log)
    await fill(server, token, secret, 2, tag="hidden")
    echoes = await fill(server, token, last, 1)
    assert await mux.messages_of(last, 1) == tagged(echoes, last)
    await quiet(mux, secret, at)
    assert [f["type"] for f in mux.about(secret)] == ["error"]


async def test_already_subscribed_leaves_the_stream_untouched(server: LiveServer) -> None:
    _, token = await server.user("alice")
    a = (await server.room(token, "a"))["id"]
    b = (await server.room(token, "b"))["id"]
    await fill(server, token, a, 3)
    mux = await connect_mux(server, token)
    assert (await mux.subscribed([(a, 0)]))[a].seqs == [1, 2, 3]
    await mux.subscribe([(a, 0), (b, 0)])  # a again, from the start: refused, nothing replayed
    assert has(await mux.error("already_subscribed", a), room=a)
    await mux.handshake(b)
    echoes = await fill(server, token, a, 2, tag="later")
    assert await mux.messages_of(a, 2) == tagged(echoes, a)
    await mux.pong()
    assert mux.stream(a) == [1, 2, 3, 4, 5]
    assert [f["type"] for f in mux.about(a) if f["type"] == "welcome"] == ["welcome"]


async def test_too_many_rooms_beyond_the_cap(make_server: ServerFactory) -> None:
    server = await make_server(max_rooms_per_socket=2)
    _, token = await server.user("alice")
    a, b, c, d = [(await server.room(token, name))["id"] for name in "abcd"]
    mux = await connect_mux(server, token)
    await mux.subscribe([a, b, c])
    await mux.handshake(a)
    await mux.handshake(b)
    assert has(await mux.error("too_many_rooms", c), room=c)
    await mux.subscribe([d])
    assert has(await mux.error("too_many_rooms", d), room=d)
    # A freed slot can be used again.
    await mux.unsubscribe([a])
    await mux.next_type("unsubscribed", a)
    await mux.subscribed([c])
    echoes = await fill(server, token, c, 1)
    assert await mux.messages_of(c, 1) == tagged(echoes, c)


async def test_message_typing_and_unsubscribe_need_a_subscription(server: LiveServer) -> None:
    _, token = await server.user("alice")
    _, bob_token = await server.user("bob")
    a = (await server.room(token, "a"))["id"]
    b = (await server.room(token, "b"))["id"]
    watcher = await server.connect(b, bob_token, ephemeral=True)  # someone in b
    await watcher.handshake()
    mux = await connect_mux(server, token)
    await mux.subscribed([a])
    await mux.say(b, "not here", "c1")
    error = await mux.error("not_subscribed", b)
    assert error["client_msg_id"] == "c1" and "detail" in error
    await mux.typing(b)
    await mux.error("not_subscribed", b)
    await mux.unsubscribe([b])
    await mux.error("not_subscribed", b)
    assert await server.history(token, b) == []
    await watcher.send({"type": "ping"})
    assert await watcher.recv() == {"type": "pong"}  # no message, no typing reached b
    # Per-room errors keep their codes, with the room.
    await mux.say(a, "   ", "c2")
    assert has(await mux.error("empty_body", a), room=a, client_msg_id="c2")
    # The subscribed room takes messages: the echo is the message, tagged.
    echo = await mux.said(a, "here", "c3")
    assert has(echo, type="message", room=a, room_id=a, seq=1, body="here", client_msg_id="c3")


# Unsubscribing, and the server's changes -------------------------------------------


async def test_unsubscribe_stops_that_room_while_another_flows(server: LiveServer) -> None:
    _, token = await server.user("alice")
    a = (await server.room(token, "a"))["id"]
    b = (await server.room(token, "b"))["id"]
    mux = await connect_mux(server, token)
    await mux.subscribed([(a, 0), (b, 0)])
    await fill(server, token, a, 2)
    await mux.messages_of(a, 2)
    await mux.unsubscribe([a])
    assert has(await mux.next_type("unsubscribed", a), type="unsubscribed", room=a, reason="requested")
    at = len(mux.log)
    missed = await fill(server, token, a, 3, tag="missed")
    echoes = await fill(server, token, b, 3)
    assert await mux.messages_of(b, 3) == tagged(echoes, b)
    await quiet(mux, a, at)
    # Subscribing again with the cursor brings exactly what was missed.
    answer = (await mux.subscribed([(a, 2)]))[a]
    assert answer.replay == tagged(missed, a)
    assert mux.stream(a) == [1, 2, 3, 4, 5]


async def test_removal_from_a_room_unsubscribes_it_and_the_socket_goes_on(server: LiveServer) -> None:
    _, token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    team = (await server.room(token, "team", private=True))["id"]
    lobby = (await server.room(token, "lobby"))["id"]
    await add_member(server, token, team, "bob")
    per_room = await server.connect(team, bob_token)
    await per_room.handshake()
    mux = await connect_mux(server, bob_token)
    await mux.subscribed([team, lobby])
    r = await server.http.delete(f"/rooms/{team}/members/{bob['id']}", headers=auth(token))
    assert r.status_code == 204
    frame = await mux.next_type("unsubscribed", team)
    assert has(frame, type="unsubscribed", room=team, reason="removed from room"), frame
    assert await per_room.closed() == (1008, "removed from room")  # the per-room socket as before
    at = len(mux.log)
    await fill(server, token, team, 2, tag="after")
    echoes = await fill(server, token, lobby, 2)
    assert await mux.messages_of(lobby, 2) == tagged(echoes, lobby)
    await quiet(mux, team, at)
    await mux.subscribe([team])  # and cannot come back
    await mux.error("room_not_found", team)
    assert mux.ws.close_code is None


async def test_room_deletion_unsubscribes_it_and_the_socket_goes_on(server: LiveServer) -> None:
    _, token = await server.user("alice")
    _, bob_token = await server.user("bob")
    doomed = (await server.room(token, "doomed"))["id"]
    lobby = (await server.room(token, "lobby"))["id"]
    per_room = await server.connect(doomed, bob_token)
    await per_room.handshake()
    muxes = [await connect_mux(server, t) for t in (token, bob_token)]
    for mux in muxes:
        await mux.subscribed([doomed, lobby])
    assert (await server.http.delete(f"/rooms/{doomed}", headers=auth(token))).status_code == 204
    for mux in muxes:
        frame = await mux.next_type("unsubscribed", doomed)
        assert has(frame, type="unsubscribed", room=doomed, reason="room deleted"), frame
    assert await per_room.closed() == (1001, "room deleted")
    echo = await muxes[0].said(lobby, "still here", "c1")
    assert await muxes[1].messages_of(lobby, 1) == [echo]
    for mux in muxes:
        await mux.subscribe([doomed])
        await mux.error("room_not_found", doomed)


async def test_room_added_when_made_a_member_and_on_creating_a_room(server: LiveServer) -> None:
    _, token = await server.user("alice")
    _, bob_token = await server.user("bob")
    _, carol_token = await server.user("carol")
    alice_mux, bob_mux, carol_mux = [await connect_mux(server, t) for t in (token, bob_token, carol_token)]

    created = await server.room(token, "team", private=True)
    assert has(await alice_mux.next_type("room_added"), room=created)
    await add_member(server, token, created["id"], "bob")
    frame = await bob_mux.next_type("room_added")
    assert has(frame, room=await get_room(server, bob_token, created["id"])), frame
    # The client may subscribe to what it was given.
    await bob_mux.subscribed([frame["room"]["id"]])

    own = await server.room(bob_token, "bobs")
    assert has(await bob_mux.next_type("room_added"), room=own)
    # Nobody else hears of it.
    for mux in (alice_mux, carol_mux):
        await mux.pong()
    assert [f["room"]["id"] for f in alice_mux.log if f["type"] == "room_added"] == [created["id"]]
    assert [f for f in carol_mux.log if f["type"] == "room_added"] == []


# Closes -------------------------------------------------------------------------------


async def test_logout_closes_1008_token_revoked(server: LiveServer) -> None:
    _, token = await server.user("alice")
    other = (await server.http.post("/auth/token", data={"username": "alice", "password": PASSWORD})).json()
    a = (await server.room(token, "a"))["id"]
    b = (await server.room(token, "b"))["id"]
    doomed = await connect_mux(server, token)
    await doomed.subscribed([a, b])
    kept = await connect_mux(server, other["access_token"])
    await kept.subscribed([a])
    assert (await server.http.post("/auth/logout", headers=auth(token))).status_code == 204
    assert await doomed.closed() == (1008, "token revoked")
    await kept.pong()


async def test_token_expiry_closes_1008_and_one_subscribe_resumes(server: LiveServer) -> None:
    user, token = await server.user("alice")
    a = (await server.room(token, "a"))["id"]
    b = (await server.room(token, "b"))["id"]
    codec = TokenCodec(TEST_KEY, server.state.settings)
    # Seconds to spare for connecting and subscribing on a busy machine (exp is whole seconds).
    left = timedelta(seconds=EXPIRY_MARGIN_S)
    short = codec.issue(user["id"], "access", now=datetime.now(UTC) - codec.lifetime("access") + left)
    mux = await connect_mux(server, short.token)
    await mux.subscribed([(a, 0), (b, 0)])
    await fill(server, token, a, 1)
    assert await mux.closed(timeout=EXPIRY_MARGIN_S + 10) == (1008, "token expired")
    cursors = {r: max(mux.stream(r), default=0) for r in (a, b)}
    assert cursors[b] == 0
    missed = {r: await fill(server, token, r, 2, tag="away") for r in (a, b)}
    again = await connect_mux(server, token)
    answers = await again.subscribed(list(cursors.items()))
    assert answers[a].seqs == list(range(cursors[a] + 1, 4))
    assert answers[b].replay == tagged(missed[b], b)
    assert mux.stream(a) + again.stream(a) == [1, 2, 3]


async def test_shutdown_closes_1012(database_url: str) -> None:
    async with serve(make_settings(database_url)) as server:
        _, token = await server.user("alice")
        a = (await server.room(token, "a"))["id"]
        mux = await connect_mux(server, token)
        await mux.subscribed([a])
        closing = asyncio.create_task(mux.closed(timeout=30))
    code, _ = await closing
    assert code == 1012


async def test_one_mux_socket_is_one_connection_against_the_cap(make_server: ServerFactory) -> None:
    server = await make_server(max_connections_per_user=2)
    _, token = await server.user("alice")
    rooms = [(await server.room(token, f"r{i}"))["id"] for i in range(4)]
    mux = await connect_mux(server, token)
    await mux.subscribed(rooms[:3])
    per_room = await server.connect(rooms[0], token)
    await per_room.handshake()  # two connections: the /ws socket with three rooms, and this
    assert await (await connect_mux(server, token, hello=False)).closed() == (1013, "too many connections")
    assert await (await server.connect(rooms[1], token)).closed() == (1013, "too many connections")
    # More rooms on the same socket are no more connections.
    await mux.subscribed(rooms[3:])
    await per_room.close()
    # The freed slot can be used again, once the server has let go of the closed socket.
    async with asyncio.timeout(10):
        while True:
            second = await connect_mux(server, token, hello=False)
            try:
                await second.hello()
                break
            except ConnectionClosed:
                assert (second.ws.close_code, second.ws.close_reason) == (1013, "too many connections")
    await second.subscribed(rooms)
    await mux.pong()


# Encodings, presence, typing, duplicates ------------------------------------------


async def test_msgpack_on_the_mux_socket(server: LiveServer) -> None:
    alice, token = await server.user("alice")
    room = (await server.room(token, "lobby"))["id"]
    plain = await connect_mux(server, token, hello=False, subprotocols=[JSON])
    packed = await connect_mux(server, token, hello=False, subprotocols=[MSGPACK])
    assert (plain.ws.subprotocol, packed.ws.subprotocol) == (JSON, MSGPACK)
    assert await packed.hello() == await plain.hello() == {"type": "hello", "user": alice}
    await plain.subscribed([room])
    answer = (await packed.subscribed([room]))[room]
    assert answer.welcome["room"]["id"] == room and answer.synced["room"] == room
    echo = await packed.said(room, "héllo ✓", "c1")
    assert await plain.messages_of(room, 1) == [echo]
    assert echo["body"] == "héllo ✓" and echo["room"] == room
    await packed.ws.send(orjson.dumps({"type": "ping"}).decode())  # a text frame under msgpack
    await packed.error("unsupported_frame")
    assert (await packed.pong("p"))["ref"] == "p"


async def test_presence_and_typing_per_room_tagged_with_the_room(server: LiveServer) -> None:
    alice, token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    carol, carol_token = await server.user("carol")
    x = (await server.room(token, "x"))["id"]
    y = (await server.room(token, "y"))["id"]
    a = await connect_mux(server, token, ephemeral=True)
    await a.subscribed([x, y])
    c = await server.connect(x, carol_token, ephemeral=True)  # a per-room socket in x
    await c.handshake()
    assert await a.next_type("presence") == {"type": "presence", "event": "join", "user": carol, "room": x}

    b = await connect_mux(server, bob_token, ephemeral=True)
    welcome = (await b.subscribed([x]))[x].welcome
    assert sorted(u["username"] for u in welcome["online"]) == ["alice", "bob", "carol"]
    assert await a.next_type("presence") == {"type": "presence", "event": "join", "user": bob, "room": x}
    assert has(await c.recv(), type="presence", event="join", user=bob)

    await b.typing(x)
    assert await a.next_type("typing") == {"type": "typing", "user": bob, "room": x}
    assert has(await c.recv(), type="typing", user=bob)
    await b.subscribed([y])
    assert await a.next_type("presence") == {"type": "presence", "event": "join", "user": bob, "room": y}
    await b.typing(y)  # another room: its own 2 s window
    assert await a.next_type("typing") == {"type": "typing", "user": bob, "room": y}
    await a.typing(x)
    assert await b.next_type("typing") == {"type": "typing", "user": alice, "room": x}
    assert has(await c.recv(), type="typing", user=alice)
    # Nobody hears their own typing or their own join.
    await a.pong()
    await b.pong()
    assert not [f for f in a.log if f["type"] in ("typing", "presence") and f["user"] == alice]
    assert not [f for f in b.log if f["type"] in ("typing", "presence") and f["user"] == bob]
    assert not [f for f in a.log if f["type"] in ("typing", "presence") and f.get("room") not in (x, y)]

    await b.unsubscribe([x])
    assert await a.next_type("presence") == {"type": "presence", "event": "leave", "user": bob, "room": x}
    assert has(await c.recv(), type="presence", event="leave", user=bob)
    await b.close()
    assert await a.next_type("presence") == {"type": "presence", "event": "leave", "user": bob, "room": y}


async def test_duplicate_client_msg_id_is_answered_to_the_sender_only(server: LiveServer) -> None:
    _, token = await server.user("alice")
    _, bob_token = await server.user("bob")
    _, carol_token = await server.user("carol")
    room = (await server.room(token, "lobby"))["id"]
    alice = await connect_mux(server, token)
    bob = await connect_mux(server, bob_token)
    for mux in (alice, bob):
        await mux.subscribed([room])
    carol = await server.connect(room, carol_token)  # per-room: the frame without `room`
    await carol.handshake()

    original = await alice.said(room, "first", "same-id")
    assert await bob.messages_of(room, 1) == [original]
    assert (await carol.messages(1))[0] == {k: v for k, v in original.items() if k != "room"}
    await alice.say(room, "second try", "same-id")
    again = (await alice.messages_of(room, 1))[0]
    assert again == {**original, "duplicate": True}
    # The others get nothing for the repeat: their next frame is the next real message.
    await alice.said(room, "new", "other-id")
    assert (await bob.messages_of(room, 1))[0]["seq"] == original["seq"] + 1
    assert (await carol.messages(1))[0]["seq"] == original["seq"] + 1
    assert alice.stream(room) == bob.stream(room) == [1, 2]
    assert [m["seq"] for m in await server.history(token, room)] == [1, 2]


# Slow consumers and many rooms -------------------------------------------------------


async def test_slow_consumer_closes_1013_without_delaying_another_socket(make_server: ServerFactory) -> None:
    server = await make_server(send_queue=8, max_message_chars=60000, ws_max_frame_bytes=65536 * 2)
    _, token = await server.user("alice")
    _, bob_token = await server.user("bob")
    room = (await server.room(token, "busy"))["id"]
    other = (await server.room(token, "other"))["id"]
    slow = await connect_mux(server, bob_token, max_queue=1)
    await slow.subscribed([room, other])
    slow.ws.transport.pause_reading()  # stop reading: kernel buffers fill, then the queue
    fast = await connect_mux(server, bob_token)
    await fast.subscribed([room, other])
    sender = await server.connect(room, token)
    await sender.handshake()
    count = 300  # 15 MB: far more than the socket buffers and the queue hold
    reading = asyncio.create_task(fast.messages_of(room, count, timeout=60))
    for i in range(count):
        await sender.message(f"{i} " + "y" * 50_000)
        await sender.messages(1)  # each echo comes back promptly
    assert [m["seq"] for m in await reading] == list(range(1, count + 1))
    slow.ws.transport.resume_reading()
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(30):
            while True:
                await slow.recv()
    assert (slow.ws.close_code, slow.ws.close_reason) == (1013, "slow consumer")
    seqs = slow.stream(room)
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) < count
    again = await connect_mux(server, bob_token)
    answer = (await again.subscribed([(room, len(seqs))]))[room]
    assert answer.seqs == list(range(len(seqs) + 1, count + 1))


async def test_slow_raw_socket_on_mux_is_dropped_and_others_go_on(make_server: ServerFactory) -> None:
    """A client that subscribes and then never reads again (not even TCP) is closed; its user's other sockets flow."""
    server = await make_server(send_queue=16, max_message_chars=60000, ws_max_frame_bytes=65536 * 2)
    _, token = await server.user("alice")
    _, bob_token = await server.user("bob")
    room = (await server.room(token, "busy"))["id"]
    loop = asyncio.get_running_loop()
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    try:
        await loop.sock_connect(raw, ("127.0.0.1", server.port))
        await loop.sock_sendall(
            raw,
            (
                f"GET /ws?token={bob_token} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode(),
        )
        assert await asyncio.wait_for(loop.sock_recv(raw, 12), 10) == b"HTTP/1.1 101"
        # A masked client text frame: the subscribe.
        payload = orjson.dumps({"type": "subscribe", "rooms": [{"room": room, "since": None}]})
        mask = b"\x01\x02\x03\x04"
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        sender = await server.connect(room, token, ephemeral=True)
        await sender.handshake()
        await loop.sock_sendall(raw, bytes([0x81, 0x80 | len(payload)]) + mask + masked)
        # Bob's subscription on the raw socket has been taken: he is online in the room.
        assert has(await sender.recv(), type="presence", event="join")
        fast = await connect_mux(server, bob_token)
        await fast.subscribed([room])
        count = 300
        reading = asyncio.create_task(fast.messages_of(room, count, timeout=60))
        for i in range(count):
            await sender.message(f"{i} " + "x" * 50_000)
            await sender.messages(1)
        assert [m["seq"] for m in await reading] == list(range(1, count + 1))
        await wait_until(lambda: len(server.state.hub.registry) == 2)  # the raw socket is gone
    finally:
        raw.close()


async def test_two_hundred_rooms_in_one_subscribe_are_all_answered_in_order(server: LiveServer) -> None:
    _, token = await server.user("alice")
    rooms = [(await server.room(token, f"room-{i:03}"))["id"] for i in range(200)]
    with_messages = {rooms[0]: 2, rooms[99]: 1, rooms[199]: 3}
    for room_id, n in with_messages.items():
        await fill(server, token, room_id, n)
    mux = await connect_mux(server, token)
    order = rooms[::-1]
    answers = await mux.subscribed([(r, 0) for r in order])
    assert list(answers) == order
    check_handshake_order(mux.log, order)
    for room_id, answer in answers.items():
        n = with_messages.get(room_id, 0)
        assert answer.seqs == list(range(1, n + 1)), room_id
        assert has(answer.synced, room=room_id, last_seq=n, replayed=n, truncated=False)
    assert [f["type"] for f in mux.log].count("welcome") == 200
    assert [f["type"] for f in mux.log].count("synced") == 200
    assert not [f for f in mux.log if f["type"] == "error"]


async def test_a_reconnecting_client_resumes_all_its_rooms_with_one_subscribe(server: LiveServer) -> None:
    _, token = await server.user("alice")
    _, bob_token = await server.user("bob")
    rooms = [(await server.room(token, f"r{i}"))["id"] for i in range(4)]
    for i, room_id in enumerate(rooms):
        await fill(server, token, room_id, i + 1, tag="before")
    first = await connect_mux(server, bob_token)
    await first.subscribed([(r, 0) for r in rooms])
    await first.close()
    cursors = {r: first.stream(r)[-1] for r in rooms}
    missed = {r: await fill(server, token, r, 3, tag="away") for r in rooms}
    again = await connect_mux(server, bob_token)
    await again.subscribe(list(cursors.items()))  # one frame
    answers = {r: await again.handshake(r) for r in rooms}
    for r in rooms:
        assert answers[r].replay == tagged(missed[r], r)
    live = {r: await fill(server, token, r, 1, tag="after") for r in rooms}
    for r in rooms:
        assert await again.messages_of(r, 1) == tagged(live[r], r)
    await again.pong()
    for i, r in enumerate(rooms):
        assert first.stream(r) + again.stream(r) == list(range(1, i + 1 + 3 + 1 + 1)), r
    check_handshake_order(again.log, rooms)


# Stress ------------------------------------------------------------------------------


async def test_readers_of_six_rooms_reconnecting_under_a_flood_see_each_message_once(server: LiveServer) -> None:
    """Each reader holds six rooms on one socket and drops it every 5-40 frames, resuming every room
    with its cursor in one subscribe, while senders flood all rooms: every room's stream is 1..N."""
    tokens = [(await server.user(f"user{i}"))[1] for i in range(6)]
    rooms = [(await server.room(tokens[0], f"flood{i}"))["id"] for i in range(6)]
    senders, per_sender = 3, 60
    total = senders * per_sender
    rng = random.Random(9)

    async def send_all(token: str, room_id: int, n: int) -> None:
        client = await server.connect(room_id, token)
        await client.handshake()
        for i in range(per_sender):
            await client.message(f"{n}-{i}", f"{n}-{i}")
            while (await client.recv_type("message"))["client_msg_id"] != f"{n}-{i}":
                pass
        await client.close()

    async def read_all(token: str) -> tuple[dict[int, list[int]], int]:
        seen: dict[int, list[int]] = {r: [] for r in rooms}
        reconnects = 0

        def done() -> bool:
            return all(len(s) >= total for s in seen.values())

        while not done():
            # Unbounded client queue: a clean close is answered even with frames unread.
            mux = await connect_mux(server, token, max_queue=None)
            reconnects += 1
            await mux.subscribe([(r, s[-1] if s else 0) for r, s in seen.items()])
            welcomed: set[int] = set()
            budget = rng.randint(5, 40)
            with contextlib.suppress(ConnectionClosed):
                while budget > 0 and not done():
                    frame = await mux.recv()
                    assert frame["type"] != "error", frame
                    room = room_of(frame)
                    if frame["type"] == "welcome":
                        welcomed.add(room)  # type: ignore[arg-type]
                    elif frame["type"] == "message":
                        assert room in welcomed and frame["room_id"] == room, frame
                        seen[room].append(frame["seq"])
                        budget -= 1
            if rng.random() < 0.3:
                mux.ws.transport.abort()  # a dropped connection rather than a close
            else:
                await mux.close()
        return seen, reconnects

    async with asyncio.timeout(30):
        readers = [asyncio.create_task(read_all(t)) for t in tokens[3:]]
        await asyncio.gather(*(send_all(tokens[n], r, n) for r in rooms for n in range(senders)))
        results = await asyncio.gather(*readers)
    for seen, reconnects in results:
        assert reconnects > 6
        for room_id in rooms:
            assert seen[room_id] == list(range(1, total + 1)), room_id


async def _admitted(open_socket: Callable[[], Awaitable[Client]]) -> Client:
    """A new socket of a user at the cap, once the server has let go of the previous one (within 10 s)."""
    async with asyncio.timeout(10):
        while True:
            client = await open_socket()
            try:
                await client.recv()
                return client
            except ConnectionClosed:
                assert (client.ws.close_code, client.ws.close_reason) == (1013, "too many connections")


async def test_a_mux_socket_closed_or_dropped_mid_replay_frees_its_slot(make_server: ServerFactory) -> None:
    """The client goes away while its rooms' replays are still being sent: the server lets go of
    the socket, so the user's reconnects are not refused."""
    server = await make_server(send_queue=8, max_connections_per_user=1)
    _, token = await server.user("alice")
    _, writer_token = await server.user("bob")
    rooms = [(await server.room(writer_token, f"r{i}"))["id"] for i in range(3)]
    for room_id in rooms:
        await fill(server, writer_token, room_id, 30)
    for attempt in range(6):
        mux = await _admitted(lambda: connect_mux(server, token, hello=False, max_queue=None))
        assert isinstance(mux, Mux) and mux.log[-1]["type"] == "hello"
        await mux.subscribe([(r, 0) for r in rooms])
        await mux.next_type("message")  # replay under way
        if attempt % 2:
            mux.ws.transport.abort()
        else:
            await mux.close()


async def test_a_per_room_socket_closed_or_dropped_mid_replay_still_frees_its_slot(make_server: ServerFactory) -> None:
    """The per-room socket's contract, unchanged by /ws: a client gone mid-replay is let go of."""
    server = await make_server(send_queue=8, max_connections_per_user=1)
    _, token = await server.user("alice")
    _, writer_token = await server.user("bob")
    room = (await server.room(writer_token, "r"))["id"]
    await fill(server, writer_token, room, 90)
    for attempt in range(6):
        client = await _admitted(lambda: server.connect(room, token, since=0, max_queue=None))
        await client.recv_type("message")  # replay under way
        if attempt % 2:
            client.ws.transport.abort()
        else:
            await client.close()
