"""Refresh-token reuse on one instance ends the login on the other."""

from __future__ import annotations

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.conftest import PASSWORD, ServiceProcess
from tests.scale.conftest import TIMEOUT, Session, closed, login, make_room, synced

pytestmark = pytest.mark.slow


async def test_refresh_reuse_closes_the_logins_sockets_on_every_instance(
    shared_two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = shared_two
    alice = await login(a.base, "alice")
    room = await make_room(alice, "family")
    async with httpx.AsyncClient(base_url=f"{a.base}/api/v1", timeout=TIMEOUT) as http:
        first = (await http.post("/auth/token", data={"username": alice.username, "password": PASSWORD})).json()
        second = (await http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
        sockets = [
            await connect(Session(b.base, p["access_token"], alice.username).ws_url(room)) for p in (first, second)
        ]
        kept = await connect(Session(b.base, alice.token, alice.username).ws_url(room))
        for ws in (*sockets, kept):
            await synced(ws)
        r = await http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert r.status_code == 401
    for ws in sockets:
        await closed(ws)
        assert (ws.close_code, ws.close_reason) == (1008, "token revoked")
    late = await connect(Session(b.base, second["access_token"], alice.username).ws_url(room))
    await closed(late)
    assert (late.close_code, late.close_reason) == (1008, "token revoked")
    async with httpx.AsyncClient(base_url=f"{b.base}/api/v1", timeout=TIMEOUT) as http:
        r = await http.get("/users/me", headers={"Authorization": f"Bearer {second['access_token']}"})
        assert r.status_code == 401 and r.json() == {"detail": "token revoked"}
    await kept.send('{"type":"ping"}')
    assert '"pong"' in str(await kept.recv())
    await kept.close()
