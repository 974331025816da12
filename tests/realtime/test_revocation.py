"""Sockets of a revoked login close 1008 "token revoked", and new ones are refused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from service.auth.security import TokenCodec
from service.control import ControlEvent, FamilyRevoked
from tests.conftest import PASSWORD, TEST_KEY
from tests.realtime.conftest import LiveServer, auth, wait_until


async def login(server: LiveServer, username: str) -> dict[str, Any]:
    r = await server.http.post("/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()


async def refreshed(server: LiveServer, pair: dict[str, Any]) -> dict[str, Any]:
    r = await server.http.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 200, r.text
    return r.json()


async def test_refresh_reuse_closes_every_socket_of_that_login(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    first = await login(server, "alice")
    second = await refreshed(server, first)
    doomed = [await server.connect(room["id"], p["access_token"]) for p in (first, second)]
    kept = await server.connect(room["id"], token)  # another login
    for client in (*doomed, kept):
        await client.handshake()
    r = await server.http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401
    for client in doomed:
        assert await client.closed() == (1008, "token revoked")
    late = await server.connect(room["id"], second["access_token"])
    assert await late.closed() == (1008, "token revoked")
    await kept.send({"type": "ping"})
    assert await kept.recv_type("pong")


async def test_logout_without_body_closes_sockets_of_the_logins_rotated_tokens(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    first = await login(server, "alice")
    second = await refreshed(server, first)
    old = await server.connect(room["id"], first["access_token"])
    await old.handshake()
    assert (await server.http.post("/auth/logout", headers=auth(second["access_token"]))).status_code == 204
    assert await old.closed() == (1008, "token revoked")


async def test_socket_admitted_after_its_logins_revocation_arrived_is_closed(server: LiveServer) -> None:
    """The token check passed just before the revocation committed; the control event
    came before the socket was admitted. The registry remembers the revocation."""
    user, token = await server.user("alice")
    room = await server.room(token, "general")
    codec = TokenCodec(TEST_KEY, server.state.settings)
    raced = codec.issue(user["id"], "access", family="f" * 32).token  # not revoked in the database
    hub = server.state.hub
    await hub.control.publish(FamilyRevoked("f" * 32))
    await wait_until(lambda: ("family", "f" * 32) in hub.registry._revoked)
    client = await server.connect(room["id"], raced)
    assert await client.closed() == (1008, "token revoked")


async def test_logout_with_the_broker_down_still_ends_the_login_and_its_sockets_here(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The revocation is committed before the broker is told; a broker that fails
    then costs only the other instances' notice, not the logout."""
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    client = await server.connect(room["id"], token)
    await client.handshake()

    async def broker_down(events: Sequence[ControlEvent]) -> None:
        raise ConnectionError("broker away")

    monkeypatch.setattr(server.state.hub.broker, "publish_control", broker_down)
    assert (await server.http.post("/auth/logout", headers=auth(token))).status_code == 204
    assert await client.closed() == (1008, "token revoked")
    assert (await server.http.get("/users/me", headers=auth(token))).status_code == 401
