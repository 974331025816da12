"""SPEC 3.2 across two `chat-service serve` instances sharing Redis."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import ServiceProcess
from tests.scale.conftest import TIMEOUT, Session, login, make_room, synced

pytestmark = pytest.mark.slow

TTL = 2.0


async def _welcome(ws: ClientConnection) -> dict:
    async with asyncio.timeout(TIMEOUT):
        welcome = orjson.loads(await ws.recv())
    await synced(ws)
    return welcome


async def _ephemeral(ws: ClientConnection) -> dict:
    async with asyncio.timeout(TIMEOUT):
        while (frame := orjson.loads(await ws.recv()))["type"] not in ("presence", "typing"):
            pass
    return frame


async def _online(session: Session, base: str, room: int) -> list[str]:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        r = await http.get(f"{base}/api/v1/rooms/{room}/presence", headers={"Authorization": f"Bearer {session.token}"})
        assert r.status_code == 200, r.text
        return sorted(u["username"] for u in r.json()["items"])


async def test_presence_and_typing_cross_instances_and_a_crash_is_a_leave(
    cluster_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cluster_env, "CHAT_PRESENCE_TTL_SECONDS": str(TTL)}
    with ServiceProcess(env, tmp_path) as a, ServiceProcess(env, tmp_path) as b:
        alice = await login(a.base, "alice")
        bob = await login(b.base, "bob")
        room = await make_room(alice, "lobby")
        on_a = await connect(alice.ws_url(room))
        assert [u["username"] for u in (await _welcome(on_a))["online"]] == [alice.username]

        on_b = await connect(bob.ws_url(room))
        assert sorted(u["username"] for u in (await _welcome(on_b))["online"]) == [alice.username, bob.username]
        joined = await _ephemeral(on_a)
        assert (joined["event"], joined["user"]["username"]) == ("join", bob.username)
        assert await _online(alice, a.base, room) == await _online(bob, b.base, room) == [alice.username, bob.username]

        # A second socket of bob's, on the other instance, is no second join, and
        # closing it is no leave: the next frame of either kind alice gets is bob typing.
        bob_on_a = await connect(bob.ws_url(room, base=a.base))
        await _welcome(bob_on_a)
        await bob_on_a.close()
        await on_b.send(orjson.dumps({"type": "typing"}).decode())
        typing = await _ephemeral(on_a)
        assert (typing["type"], typing["user"]["username"]) == ("typing", bob.username)

        # Instance b dies without a word: its entries expire and a's sweep announces
        # bob's leave, within 1.25 × TTL by design. The bound is four times that, so a
        # busy machine stays inside it, yet half the default TTL (20 s), so entries
        # that outlive the configured TTL still fail here.
        b.stop(signal.SIGKILL)
        started = time.monotonic()
        left = await _ephemeral(on_a)
        assert (left["event"], left["user"]["username"]) == ("leave", bob.username)
        waited = time.monotonic() - started
        assert waited < 5 * TTL, waited
        assert await _online(alice, a.base, room) == [alice.username]
        await on_a.close()
