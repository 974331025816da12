"""Two `chat-service serve` processes on one PostgreSQL database and one Redis."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import PASSWORD, REDIS_URL, TABLES, ServiceProcess, _pg, service_env

TIMEOUT = 30


@pytest.fixture
def cluster_env(postgres_url: str, redis_prefix: str) -> dict[str, str]:
    _pg(postgres_url.replace("+asyncpg", ""), f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    return service_env(
        postgres_url,
        CHAT_REDIS_URL=REDIS_URL,
        CHAT_REDIS_PREFIX=f"{redis_prefix}-{uuid.uuid4().hex[:6]}",
        CHAT_RATE_PER_SECOND="1000",
        CHAT_RATE_BURST="1000",
        CHAT_AUTO_MIGRATE="false",
    )


@pytest.fixture
def two(cluster_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    with ServiceProcess(cluster_env, tmp_path) as a, ServiceProcess(cluster_env, tmp_path) as b:
        yield a, b


class Session:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def ws_url(self, room_id: int, since: int | None = None, base: str | None = None) -> str:
        url = f"{(base or self.base).replace('http', 'ws', 1)}/ws/rooms/{room_id}?token={self.token}"
        return url if since is None else f"{url}&since={since}"


async def login(base: str, username: str) -> Session:
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=TIMEOUT) as http:
        await http.post("/auth/register", json={"username": username, "password": PASSWORD})
        r = await http.post("/auth/token", data={"username": username, "password": PASSWORD})
        return Session(base, r.json()["access_token"])


async def make_room(session: Session, name: str) -> int:
    async with httpx.AsyncClient(base_url=f"{session.base}/api/v1", timeout=TIMEOUT) as http:
        r = await http.post("/rooms", json={"name": name}, headers={"Authorization": f"Bearer {session.token}"})
        assert r.status_code == 201, r.text
        return r.json()["id"]


async def synced(ws: ClientConnection) -> list[dict]:
    """Read up to `synced`; the replayed messages."""
    replay = []
    async with asyncio.timeout(TIMEOUT):
        while (frame := orjson.loads(await ws.recv()))["type"] != "synced":
            if frame["type"] == "message":
                replay.append(frame)
    return replay


async def send_all(session: Session, room_id: int, tag: str, count: int) -> None:
    """Send `count` messages, each after the echo of the one before."""
    async with connect(session.ws_url(room_id)) as ws:
        await synced(ws)
        for i in range(count):
            cid = f"{tag}-{i}"
            await ws.send(orjson.dumps({"type": "message", "body": cid, "client_msg_id": cid}).decode())
            async with asyncio.timeout(TIMEOUT):
                while orjson.loads(await ws.recv()).get("client_msg_id") != cid:
                    pass


async def read_until(ws: ClientConnection, total: int) -> list[dict]:
    seen: list[dict] = []
    async with asyncio.timeout(TIMEOUT):
        while len(seen) < total:
            frame = orjson.loads(await ws.recv())
            if frame["type"] == "message":
                seen.append(frame)
    return seen


async def test_clients_on_both_instances_see_every_message_once_in_order(
    two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = two
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
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(TIMEOUT):
            await ws.recv()
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
    two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = two
    alice = await login(a.base, "alice")
    bob = await login(b.base, "bob")
    room = await make_room(alice, "control")
    logged_out = await connect(bob.ws_url(room))
    deleted = await connect(alice.ws_url(room, base=b.base))
    for ws in (logged_out, deleted):
        await synced(ws)
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        r = await http.post(f"{a.base}/api/v1/auth/logout", headers={"Authorization": f"Bearer {bob.token}"})
        assert r.status_code == 204
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(TIMEOUT):
                while True:
                    await logged_out.recv()
        assert (logged_out.close_code, logged_out.close_reason) == (1008, "token revoked")
        r = await http.delete(f"{a.base}/api/v1/rooms/{room}", headers={"Authorization": f"Bearer {alice.token}"})
        assert r.status_code == 204
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(TIMEOUT):
                while True:
                    await deleted.recv()
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
