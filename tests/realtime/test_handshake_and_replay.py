from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from service.auth.security import TokenCodec
from tests.conftest import TEST_KEY
from tests.realtime.conftest import LiveServer, ServerFactory, auth


async def test_welcome_replay_synced_then_live_echo_to_everyone(server: LiveServer) -> None:
    alice, alice_token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    room = await server.room(alice_token, "general")
    a = await server.connect(room["id"], alice_token)
    welcome, replay, synced = await a.handshake()
    assert welcome["user"] == alice and welcome["room"] == room
    assert replay == [] and synced == {"type": "synced", "last_seq": 0, "replayed": 0, "truncated": False}
    b = await server.connect(room["id"], bob_token)
    await b.handshake()

    await a.message("hello", "c1")
    echo, seen_by_bob = (await a.messages(1))[0], (await b.messages(1))[0]
    assert echo == seen_by_bob
    assert echo["seq"] == 1 and echo["body"] == "hello" and echo["client_msg_id"] == "c1"
    assert echo["user"] == {"id": alice["id"], "username": "alice"}

    # Stored before seen: REST history has exactly what the sockets saw.
    history = await server.history(bob_token, room["id"])
    assert [{"type": "message", **m} for m in history] == [echo]
    fetched = (await server.http.get(f"/rooms/{room['id']}", headers=auth(bob_token))).json()
    assert fetched["last_seq"] == 1
    await a.close()
    await b.close()


async def _room_with(server: LiveServer, count: int) -> tuple[dict, str]:
    _, token = await server.user("writer")
    room = await server.room(token, "replay")
    sender = await server.connect(room["id"], token)
    await sender.handshake()
    for i in range(1, count + 1):
        await sender.message(f"m{i}")
    await sender.messages(count)
    await sender.close()
    return room, token


async def test_replay_since_sends_exactly_the_missed_messages(server: LiveServer) -> None:
    room, token = await _room_with(server, 10)
    client = await server.connect(room["id"], token, since=6)
    _, replay, synced = await client.handshake()
    assert [m["seq"] for m in replay] == [7, 8, 9, 10]
    assert synced == {"type": "synced", "last_seq": 10, "replayed": 4, "truncated": False}


async def test_replay_since_last_sends_nothing(server: LiveServer) -> None:
    room, token = await _room_with(server, 3)
    client = await server.connect(room["id"], token, since=3)
    _, replay, synced = await client.handshake()
    assert replay == [] and synced["replayed"] == 0 and synced["last_seq"] == 3


async def test_without_since_sends_the_newest_history(make_server: ServerFactory) -> None:
    server = await make_server(history_on_connect=4)
    room, token = await _room_with(server, 10)
    client = await server.connect(room["id"], token)
    _, replay, synced = await client.handshake()
    assert [m["seq"] for m in replay] == [7, 8, 9, 10]
    assert synced["truncated"] is False and synced["last_seq"] == 10


async def test_replay_over_max_is_truncated_to_the_newest(make_server: ServerFactory) -> None:
    server = await make_server(max_replay=5)
    room, token = await _room_with(server, 12)
    client = await server.connect(room["id"], token, since=2)
    _, replay, synced = await client.handshake()
    # The newest 5 connect seamlessly to live traffic; (2, 7] is paged over REST.
    assert [m["seq"] for m in replay] == [8, 9, 10, 11, 12]
    assert synced == {"type": "synced", "last_seq": 12, "replayed": 5, "truncated": True}
    r = await server.http.get(
        f"/rooms/{room['id']}/messages", params={"after_seq": 2, "before_seq": 8}, headers=auth(token)
    )
    assert [m["seq"] for m in r.json()["items"]] == [3, 4, 5, 6, 7]


async def test_since_beyond_the_last_seq_still_gets_new_messages(server: LiveServer) -> None:
    room, token = await _room_with(server, 2)
    client = await server.connect(room["id"], token, since=999)
    _, replay, synced = await client.handshake()
    assert replay == [] and synced["last_seq"] == 2
    await client.message("next")
    assert (await client.messages(1))[0]["seq"] == 3


async def _close_of(server: LiveServer, room_id: object, token: str | None, **kwargs: object) -> tuple[int, str]:
    client = await server.connect(room_id, token, **kwargs)  # type: ignore[arg-type]
    return await client.closed()


async def test_auth_failures_accept_then_close_1008_with_reason(server: LiveServer) -> None:
    user, token = await server.user("alice")
    _, other_token = await server.user("bob")
    room = await server.room(token, "general")
    secret = await server.room(token, "secret", private=True)
    codec = TokenCodec(TEST_KEY, server.state.settings)
    expired = codec.issue(user["id"], "access", now=datetime.now(UTC) - timedelta(hours=1)).token
    ahead = codec.issue(user["id"], "access", now=datetime.now(UTC) + timedelta(days=1)).token
    refresh = (
        await server.http.post("/auth/token", data={"username": "alice", "password": "correct horse battery"})
    ).json()["refresh_token"]
    revoked = (await server.user("carol"))[1]
    assert (await server.http.post("/auth/logout", headers=auth(revoked))).status_code == 204
    rid = room["id"]

    assert await _close_of(server, rid, None) == (1008, "missing token")
    assert await _close_of(server, rid, "garbage") == (1008, "invalid token")
    assert await _close_of(server, rid, token[:-4] + "AAAA") == (1008, "invalid token")
    assert await _close_of(server, rid, expired) == (1008, "token expired")
    assert await _close_of(server, rid, ahead) == (1008, "invalid token")
    assert await _close_of(server, rid, revoked) == (1008, "token revoked")
    assert await _close_of(server, rid, refresh) == (1008, "invalid token")
    assert await _close_of(server, 999999, token) == (1008, "room not found")
    assert await _close_of(server, "abc", token) == (1008, "room not found")
    assert await _close_of(server, secret["id"], other_token) == (1008, "room not found")
    assert await _close_of(server, rid, token, since=-1) == (1008, "invalid since")


async def test_sockets_refused_for_a_room_leave_nothing_behind(make_server: ServerFactory) -> None:
    """A socket closed 1008 for a room it may not read is gone: it neither counts
    against its user's cap nor stays for the server to wait on when it stops."""
    server = await make_server(max_connections_per_user=2)
    _, token = await server.user("alice")
    _, other = await server.user("bob")
    room = await server.room(token, "general")
    secret = await server.room(other, "secret", private=True)
    for _ in range(3):
        assert await _close_of(server, 999999, token) == (1008, "room not found")
        assert await _close_of(server, secret["id"], token) == (1008, "room not found")
    first = await server.connect(room["id"], token)
    await first.handshake()
    second = await server.connect(room["id"], token)
    await second.handshake()


async def test_origin_check(make_server: ServerFactory) -> None:
    server = await make_server(allowed_origins="https://chat.example")
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    code = await _close_of(server, room["id"], token, origin="https://evil.example")
    assert code == (1008, "origin not allowed")
    ok = await server.connect(room["id"], token, origin="https://chat.example")
    await ok.handshake()
    same = await server.connect(room["id"], token, origin=f"http://127.0.0.1:{server.port}")
    await same.handshake()
    bare = await server.connect(room["id"], token)  # no Origin: not a browser
    await bare.handshake()


async def test_connection_caps_close_1013(make_server: ServerFactory) -> None:
    server = await make_server(max_connections_per_user=2, max_connections=3)
    _, token = await server.user("alice")
    _, bob_token = await server.user("bob")
    room = await server.room(token, "general")
    first = [await server.connect(room["id"], token) for _ in range(2)]
    for c in first:
        await c.handshake()
    assert await _close_of(server, room["id"], token) == (1013, "too many connections")
    third = await server.connect(room["id"], bob_token)
    await third.handshake()
    assert await _close_of(server, room["id"], bob_token) == (1013, "too many connections")
    await first[0].close()
    await asyncio.wait_for(first[0].ws.wait_closed(), 5)
    # A freed slot can be used again.
    from tests.realtime.conftest import wait_until

    await wait_until(lambda: len(server.state.hub.registry) == 2)
    again = await server.connect(room["id"], token)
    await again.handshake()
