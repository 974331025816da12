"""Two `chat-service serve` processes on one PostgreSQL database and one Redis."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest
import redis
from websockets.asyncio.client import connect

from tests.conftest import REDIS_URL, ServiceProcess
from tests.scale.conftest import TIMEOUT, closed, login, make_room, read_until, send_all, synced

pytestmark = pytest.mark.slow


async def test_clients_on_both_instances_see_every_message_once_in_order(
    shared_two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = shared_two
    alice, bob = await login(a.base, "alice"), await login(b.base, "bob")
    room = await make_room(alice, "shared")
    readers = [await connect(s.ws_url(room)) for s in (alice, alice, bob, bob)]
    for ws in readers:
        await synced(ws)
    per_sender, senders = 40, 6
    total = per_sender * senders
    reading = [asyncio.create_task(read_until(ws, total)) for ws in readers]
    await asyncio.gather(*(send_all(alice if n % 2 else bob, room, f"s{n}", per_sender) for n in range(senders)))
    expected_bodies = {f"s{n}-{i}" for n in range(senders) for i in range(per_sender)}
    for task in reading:
        seen = await task
        assert [m["seq"] for m in seen] == list(range(1, total + 1))
        assert {m["body"] for m in seen} == expected_bodies
    for ws in readers:
        await ws.close()


def _kill_subscriptions(prefix: str) -> int:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        killed = 0
        for info in client.client_list():
            if info.get("name") == f"{prefix}-sub":
                client.client_kill_filter(_id=info["id"])
                killed += 1
        return killed
    finally:
        client.close()


async def test_redis_connection_killed_mid_stream_loses_nothing(
    two: tuple[ServiceProcess, ServiceProcess], cluster_env: dict[str, str]
) -> None:
    a, b = two
    alice, bob = await login(a.base, "alice"), await login(b.base, "bob")
    room = await make_room(alice, "blip")
    reader = await connect(bob.ws_url(room))
    await synced(reader)
    total = 120
    reading = asyncio.create_task(read_until(reader, total))
    sending = asyncio.create_task(send_all(alice, room, "m", total))
    killed = 0
    for _ in range(3):  # kill the subscriber connections of both instances, three times
        await asyncio.sleep(0.2)
        killed += _kill_subscriptions(cluster_env["CHAT_REDIS_PREFIX"])
    await sending
    seen = await reading
    assert killed >= 2
    assert [m["seq"] for m in seen] == list(range(1, total + 1))
    async with httpx.AsyncClient() as http:
        async with asyncio.timeout(TIMEOUT):
            while (await http.get(f"{b.base}/readyz")).status_code != 200:
                await asyncio.sleep(0.1)
        metrics = (await http.get(f"{b.base}/metrics")).text
    assert "chat_broker_resyncs_total" in metrics
    await reader.close()


async def test_killed_instance_clients_reconnect_to_the_other_and_lose_nothing(
    two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = two
    alice = await login(a.base, "alice")
    room = await make_room(alice, "failover")
    ws = await connect(alice.ws_url(room))
    await synced(ws)
    await send_all(alice, room, "before", 10)
    seen = await read_until(ws, 10)
    a.stop(signal.SIGKILL)
    await closed(ws)
    # While the client is away, others keep talking on the surviving instance.
    bob = await login(b.base, "bob")
    await send_all(bob, room, "during", 10)
    again = await connect(alice.ws_url(room, since=seen[-1]["seq"], base=b.base))
    seen += await synced(again)
    await send_all(bob, room, "after", 5)
    seen += await read_until(again, 5)
    assert [m["seq"] for m in seen] == list(range(1, 26))
    await again.close()


async def test_control_events_close_sockets_on_every_instance(
    shared_two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = shared_two
    alice = await login(a.base, "alice")
    bob = await login(b.base, "bob")
    room = await make_room(alice, "control")
    async with httpx.AsyncClient(base_url=f"{a.base}/api/v1", timeout=TIMEOUT) as http:
        owner = {"Authorization": f"Bearer {alice.token}"}
        added = await http.post(f"/rooms/{room}/members", json={"username": bob.username}, headers=owner)
        assert added.status_code == 201
        removed = await connect(bob.ws_url(room))
        await synced(removed)
        bob_id = (await http.get("/users/me", headers={"Authorization": f"Bearer {bob.token}"})).json()["id"]
        assert (await http.delete(f"/rooms/{room}/members/{bob_id}", headers=owner)).status_code == 204
    await closed(removed)
    assert (removed.close_code, removed.close_reason) == (1008, "removed from room")
    logged_out = await connect(bob.ws_url(room))
    deleted = await connect(alice.ws_url(room, base=b.base))
    for ws in (logged_out, deleted):
        await synced(ws)
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        r = await http.post(f"{a.base}/api/v1/auth/logout", headers={"Authorization": f"Bearer {bob.token}"})
        assert r.status_code == 204
        await closed(logged_out)
        assert (logged_out.close_code, logged_out.close_reason) == (1008, "token revoked")
        r = await http.delete(f"{a.base}/api/v1/rooms/{room}", headers={"Authorization": f"Bearer {alice.token}"})
        assert r.status_code == 204
        await closed(deleted)
        assert (deleted.close_code, deleted.close_reason) == (1001, "room deleted")


async def test_serve_with_workers_shares_messages(cluster_env: dict[str, str], tmp_path: Path) -> None:
    with ServiceProcess(cluster_env, tmp_path, "--workers", "2") as service:
        alice = await login(service.base, "alice")
        room = await make_room(alice, "workers")
        readers = [await connect(alice.ws_url(room)) for _ in range(6)]
        for ws in readers:
            await synced(ws)
        reading = [asyncio.create_task(read_until(ws, 30)) for ws in readers]
        await asyncio.gather(*(send_all(alice, room, f"w{n}", 10) for n in range(3)))
        for task in reading:
            assert [m["seq"] for m in await task] == list(range(1, 31))
        for ws in readers:
            await ws.close()
