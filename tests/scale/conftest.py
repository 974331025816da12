"""Shared by the scale-out tests: a cluster environment and small client helpers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import PASSWORD, REDIS_URL, TABLES, ServiceProcess, _pg, service_env

TIMEOUT = 30


def scale_env(postgres_url: str, redis_prefix: str) -> dict[str, str]:
    return service_env(
        postgres_url,
        CHAT_REDIS_URL=REDIS_URL,
        CHAT_REDIS_PREFIX=f"{redis_prefix}-{uuid.uuid4().hex[:6]}",
        CHAT_RATE_PER_SECOND="1000",
        CHAT_RATE_BURST="1000",
        CHAT_AUTO_MIGRATE="false",
    )


def emptied(postgres_url: str) -> None:
    """The database emptied, but no identity restarts: the package's `shared_two` may be
    running, and ids it has seen must not come back as other rows."""
    _pg(postgres_url.replace("+asyncpg", ""), f"TRUNCATE {TABLES} CASCADE")


@contextlib.contextmanager
def instances(env: dict[str, str], cwd: Path) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    with ServiceProcess(env, cwd) as a, ServiceProcess(env, cwd) as b:
        yield a, b


@pytest.fixture
def cluster_env(postgres_url: str, redis_prefix: str) -> dict[str, str]:
    emptied(postgres_url)
    return scale_env(postgres_url, redis_prefix)


@pytest.fixture
def two(cluster_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    with instances(cluster_env, tmp_path) as pair:
        yield pair


@pytest.fixture(scope="package")
def shared_two(
    postgres_url: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """Two instances shared by the package's tests that neither stop, restart nor reconfigure
    them, nor look at their Redis keys: each such test logs in users of its own (`login`)."""
    with instances(scale_env(postgres_url, redis_prefix), tmp_path_factory.mktemp("two")) as pair:
        yield pair


class Session:
    def __init__(self, base: str, token: str, username: str) -> None:
        self.base, self.token, self.username = base, token, username

    def ws_url(self, room_id: int, since: int | None = None, base: str | None = None) -> str:
        url = f"{(base or self.base).replace('http', 'ws', 1)}/ws/rooms/{room_id}?token={self.token}"
        return url if since is None else f"{url}&since={since}"


async def login(base: str, name: str) -> Session:
    """A new user named `unique(name)`, logged in."""
    username = unique(name)
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=TIMEOUT) as http:
        r = await http.post("/auth/register", json={"username": username, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = await http.post("/auth/token", data={"username": username, "password": PASSWORD})
        return Session(base, r.json()["access_token"], username)


def unique(name: str) -> str:
    """`name` made unique: instances may be shared by tests, and room names are unique."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def make_room(session: Session, name: str) -> int:
    async with httpx.AsyncClient(base_url=f"{session.base}/api/v1", timeout=TIMEOUT) as http:
        body = {"name": unique(name)}
        r = await http.post("/rooms", json=body, headers={"Authorization": f"Bearer {session.token}"})
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


async def closed(ws: ClientConnection) -> None:
    """Read until the server closes the socket."""
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(TIMEOUT):
            while True:
                await ws.recv()
