"""SPEC 3.2 on one instance: `online` in welcome, join/leave, typing, GET presence."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from service.realtime import roster
from tests.realtime.conftest import Client, LiveServer, auth


async def _next_ephemeral_or_pong(client: Client) -> dict[str, Any]:
    """Ping, then the first presence/typing frame or the pong: proves what came before the pong."""
    await client.send({"type": "ping"})
    while (frame := await client.recv())["type"] not in ("presence", "typing", "pong"):
        pass
    return frame


async def _presence(server: LiveServer, token: str, room_id: int) -> list[str]:
    r = await server.http.get(f"/rooms/{room_id}/presence", headers=auth(token))
    assert r.status_code == 200, r.text
    return sorted(u["username"] for u in r.json()["items"])


async def test_join_and_leave_follow_first_and_last_socket(server: LiveServer) -> None:
    alice, a_token = await server.user("alice")
    bob, b_token = await server.user("bob")
    room = await server.room(a_token, "lobby")
    assert await _presence(server, a_token, room["id"]) == []

    a = await server.connect(room["id"], a_token, ephemeral=True)
    welcome, _, _ = await a.handshake()
    assert welcome["online"] == [alice]  # the User object, as GET /users/me has it
    assert await _presence(server, a_token, room["id"]) == ["alice"]

    b1 = await server.connect(room["id"], b_token, ephemeral=True)
    welcome, _, _ = await b1.handshake()
    assert sorted(u["username"] for u in welcome["online"]) == ["alice", "bob"]
    assert await a.recv() == {"type": "presence", "event": "join", "user": bob}
    # Bob's own socket is not told he joined: its welcome says so.
    assert await _next_ephemeral_or_pong(b1) == {"type": "pong"}

    b2 = await server.connect(room["id"], b_token, ephemeral=True)
    await b2.handshake()
    assert await _next_ephemeral_or_pong(a) == {"type": "pong"}  # a second socket is not a join
    await b1.close()
    assert await _next_ephemeral_or_pong(a) == {"type": "pong"}  # nor is closing one of two
    assert await _presence(server, a_token, room["id"]) == ["alice", "bob"]

    await b2.close()
    assert await a.recv() == {"type": "presence", "event": "leave", "user": bob}
    assert await _presence(server, a_token, room["id"]) == ["alice"]


async def test_presence_is_per_room(server: LiveServer) -> None:
    _, a_token = await server.user("alice")
    _, b_token = await server.user("bob")
    one = await server.room(a_token, "one")
    two = await server.room(a_token, "two")
    a = await server.connect(one["id"], a_token, ephemeral=True)
    await a.handshake()
    b = await server.connect(two["id"], b_token, ephemeral=True)
    welcome, _, _ = await b.handshake()
    assert [u["username"] for u in welcome["online"]] == ["bob"]
    assert await _next_ephemeral_or_pong(a) == {"type": "pong"}
    assert await _presence(server, b_token, one["id"]) == ["alice"]


async def test_typing_reaches_the_others_once_per_two_seconds(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The roster's clock, moved by hand: the interval is checked exactly, with no waiting.
    now = [1000.0]
    monkeypatch.setattr(roster, "time", SimpleNamespace(monotonic=lambda: now[0]))
    _, a_token = await server.user("alice")
    bob, b_token = await server.user("bob")
    room = await server.room(a_token, "lobby")
    a = await server.connect(room["id"], a_token, ephemeral=True)
    await a.handshake()
    b = await server.connect(room["id"], b_token, ephemeral=True)
    await b.handshake()
    assert (await a.recv())["event"] == "join"

    async def typing_then_message(body: str) -> list[dict[str, Any]]:
        """Bob types, then sends `body`: what alice gets up to that message. Bob's
        frames are handled in order, so a notice forwarded is ahead of it."""
        await b.send({"type": "typing"})
        await b.message(body, body)
        frames = [await a.recv()]
        while frames[-1]["type"] != "message":
            frames.append(await a.recv())
        assert frames[-1]["body"] == body
        return frames[:-1]

    for _ in range(4):
        await b.send({"type": "typing"})
    # One typing notice, then the message: the other four were within 2 s.
    assert await typing_then_message("m1") == [{"type": "typing", "user": bob}]
    # The sender is not told about their own typing.
    assert (await b.recv())["type"] == "message"
    assert await _next_ephemeral_or_pong(b) == {"type": "pong"}

    now[0] += 1.99
    assert await typing_then_message("m2") == []
    now[0] += 0.01  # 2 s after the notice that went out
    assert await typing_then_message("m3") == [{"type": "typing", "user": bob}]
    now[0] += 1.0
    assert await typing_then_message("m4") == []

    # Typing is not stored.
    assert [m["body"] for m in await server.history(a_token, room["id"])] == ["m1", "m2", "m3", "m4"]


async def test_presence_endpoint_has_the_room_visibility(server: LiveServer) -> None:
    _, a_token = await server.user("alice")
    _, b_token = await server.user("bob")
    private = await server.room(a_token, "secret", private=True)
    r = await server.http.get(f"/rooms/{private['id']}/presence", headers=auth(b_token))
    assert r.status_code == 404
    r = await server.http.get(f"/rooms/{private['id']}/presence")
    assert r.status_code == 401
    r = await server.http.get("/rooms/999999/presence", headers=auth(a_token))
    assert r.status_code == 404
