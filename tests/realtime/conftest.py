"""A real uvicorn server on loopback and a real `websockets` client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import msgpack
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from service.config import Settings
from service.main import State, create_app, served
from service.server import uvicorn_options
from tests.conftest import PASSWORD, make_settings, state_of

TIMEOUT = 10.0
# Seconds left on the short-lived tokens of the expiry tests.
EXPIRY_MARGIN_S = 6


EPHEMERAL = {"presence", "typing"}


class Client:
    """One WebSocket client with helpers that wait for what they expect.

    Presence and typing frames are skipped unless `ephemeral`: they depend on who
    else happens to be connected, which most tests are not about. Under the
    chat.v1.msgpack subprotocol frames are MessagePack both ways."""

    def __init__(self, ws: ClientConnection, *, ephemeral: bool = False) -> None:
        self.ws = ws
        self.ephemeral = ephemeral
        self.binary = ws.subprotocol == "chat.v1.msgpack"

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(msgpack.packb(frame) if self.binary else orjson.dumps(frame).decode())

    async def message(self, body: str, client_msg_id: str | None = None) -> None:
        await self.send({"type": "message", "body": body, "client_msg_id": client_msg_id})

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                data = await self.ws.recv()
                if self.binary:
                    assert isinstance(data, bytes), f"a text frame under msgpack: {data!r}"
                    frame: dict[str, Any] = msgpack.unpackb(data)
                else:
                    assert isinstance(data, str), f"a binary frame under JSON: {data!r}"
                    frame = orjson.loads(data)
                if self.ephemeral or frame["type"] not in EPHEMERAL:
                    return frame

    async def recv_type(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next frame of this type; frames of other types before it are skipped."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if frame["type"] == kind:
                    return frame

    async def handshake(self) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        """welcome, the replayed stream (every kind of entry), synced."""
        welcome = await self.recv()
        assert welcome["type"] == "welcome", welcome
        replay = []
        while (frame := await self.recv())["type"] in ("message", "edit", "delete", "reaction", "pin"):
            replay.append(frame)
        assert frame["type"] == "synced", frame
        return welcome, replay, frame

    async def messages(self, count: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while len(got) < count:
                frame = await self.recv(timeout)
                if frame["type"] == "message":
                    got.append(frame)
        return got

    async def closed(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """Read until the server closes; (code, reason)."""
        async with asyncio.timeout(timeout):
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await self.ws.recv()
        assert self.ws.close_code is not None
        return self.ws.close_code, self.ws.close_reason or ""

    async def close(self) -> None:
        await self.ws.close()


class LiveServer:
    def __init__(self, app: FastAPI, port: int) -> None:
        self.app = app
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.http = httpx.AsyncClient(base_url=f"{self.base}/api/v1", timeout=TIMEOUT)
        self.clients: list[Client] = []  # closed when the server stops, not left to the garbage collector

    @property
    def state(self) -> State:
        return state_of(self.app)

    def ws_url(self, room_id: int | str, token: str | None, since: int | None = None, **extra: str) -> str:
        params = {**({"token": token} if token is not None else {}), **extra}
        if since is not None:
            params["since"] = str(since)
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"ws://127.0.0.1:{self.port}/ws/rooms/{room_id}" + (f"?{query}" if query else "")

    async def connect(
        self, room_id: int | str, token: str | None, since: int | None = None, *, ephemeral: bool = False, **kwargs: Any
    ) -> Client:
        kwargs.setdefault("open_timeout", TIMEOUT)
        ws = await connect(self.ws_url(room_id, token, since), **kwargs)
        client = Client(ws, ephemeral=ephemeral)
        self.clients.append(client)
        return client

    async def user(self, username: str) -> tuple[dict[str, Any], str]:
        """Register and log in; (user, access token)."""
        r = await self.http.post("/auth/register", json={"username": username, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = await self.http.post("/auth/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return (await self.me(r.json()["access_token"])), r.json()["access_token"]

    async def me(self, token: str) -> dict[str, Any]:
        return (await self.http.get("/users/me", headers=auth(token))).json()

    async def room(self, token: str, name: str, **fields: Any) -> dict[str, Any]:
        r = await self.http.post("/rooms", json={"name": name, **fields}, headers=auth(token))
        assert r.status_code == 201, r.text
        return r.json()

    async def history(self, token: str, room_id: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        after = 0
        while True:
            r = await self.http.get(
                f"/rooms/{room_id}/messages", params={"after_seq": after, "limit": 200}, headers=auth(token)
            )
            assert r.status_code == 200, r.text
            page = r.json()
            items += page["items"]
            if not page["has_more"]:
                return items
            after = items[-1]["seq"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Poll server state until it holds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[LiveServer]:
    app = create_app(settings)
    options = {**uvicorn_options(settings), "log_config": None}
    config = uvicorn.Config(served(app), host="127.0.0.1", port=0, lifespan="on", log_level="warning", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        live = LiveServer(app, port)
        try:
            yield live
        finally:
            for client in live.clients:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.ws.close(), 5)
            await live.http.aclose()
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


ServerFactory = Callable[..., Awaitable[LiveServer]]


@pytest.fixture
async def make_server(database_url: str) -> AsyncIterator[ServerFactory]:
    """Start a live server with settings overridden per test."""
    stack = contextlib.AsyncExitStack()

    async def factory(**overrides: Any) -> LiveServer:
        overrides.setdefault("rate_per_second", 1000)
        overrides.setdefault("rate_burst", 1000)
        return await stack.enter_async_context(serve(make_settings(database_url, **overrides)))

    async with stack:
        yield factory


@pytest.fixture
async def server(make_server: ServerFactory) -> LiveServer:
    return await make_server()
