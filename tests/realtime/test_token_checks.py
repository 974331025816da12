"""Sockets presenting one token this instance has not checked yet, all at once,
share one check against the database: its answer, or its refusal, is theirs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from service.realtime import handshake
from tests.realtime.conftest import LiveServer

SOCKETS = 8


def gate_token_checks(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str | None], asyncio.Event]:
    """Hold every token check until the gate opens; the tokens checked."""
    real = handshake.user_for_access_token
    checked: list[str | None] = []
    gate = asyncio.Event()

    async def held(session: Any, codec: Any, token: str | None) -> Any:
        checked.append(token)
        await gate.wait()
        return await real(session, codec, token)

    monkeypatch.setattr(handshake, "user_for_access_token", held)
    return checked, gate


async def test_sockets_with_one_new_token_share_its_check(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    user, token = await server.user("alice")
    room = await server.room(token, "lobby")
    checked, gate = gate_token_checks(monkeypatch)

    # Accepted before the token is checked: every socket's check is under way.
    clients = await asyncio.gather(*(server.connect(room["id"], token) for _ in range(SOCKETS)))
    gate.set()
    welcomes = [(await client.handshake())[0] for client in clients]

    assert checked == [token]
    assert all(w["user"]["id"] == user["id"] for w in welcomes)
    await (await server.connect(room["id"], token)).handshake()
    assert checked == [token]  # and later sockets find it checked


async def test_a_refused_token_is_refused_to_every_socket_sharing_its_check(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "lobby")
    await server.http.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
    checked, gate = gate_token_checks(monkeypatch)

    clients = await asyncio.gather(*(server.connect(room["id"], token) for _ in range(SOCKETS)))
    gate.set()

    assert [await client.closed() for client in clients] == [(1008, "token revoked")] * SOCKETS
    assert checked == [token]
