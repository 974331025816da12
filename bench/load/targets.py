"""How the load client reaches each server: URLs, handshakes and framing per kind
(the service, the reference peers), the service's users and rooms made over REST,
and opening and closing sockets."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from load.picows_client import PicowsSocket, connect

TARGETS = ("service", "raw_ws", "bare_fastapi", "socketio", "picows", "socketio-node")
PASSWORD = "bench-password-1"
CONNECT_CONCURRENCY = 64  # keeps handshakes well under every listen backlog
MAX_BODY_SIZE = 4000


def server_options(p: argparse.ArgumentParser) -> None:
    """The options of every subcommand that talks to a server."""
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--server-pid", type=int, help="server process to read CPU/RSS of (default: not measured)")
    p.add_argument("--users", type=int, default=4, help="service: users to register (tokens reused round-robin)")
    p.add_argument("--body-size", type=int, default=100, help="message body length in characters (40..4000)")


# --------------------------------------------------------------------- targets


class Target:
    """How one server kind is reached: URL, handshake, framing. Base: raw_ws and
    bare_fastapi, which broadcast our client frame back unchanged."""

    name = "raw_ws"

    def __init__(self, port: int) -> None:
        self.port = port
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"

    def url(self, room: Room, since: int | None = None) -> str:
        return f"{self.ws}/ws"

    async def handshake(self, ws: PicowsSocket, room: Room) -> int:
        """Wait until the connection receives live traffic; returns the room's last seq then."""
        return 0

    def wrap(self, frame: str) -> str:
        return frame

    def unwrap(self, text: str) -> dict[str, Any] | None:
        """The frame as a dict, or None for transport-level frames."""
        return orjson.loads(text)  # type: ignore[no-any-return]

    def reply(self, text: str) -> str | None:
        """What to answer to a transport-level frame, if anything."""
        return None


class ServiceTarget(Target):
    name = "service"

    def url(self, room: Room, since: int | None = None) -> str:
        url = f"{self.ws}/ws/rooms/{room.key}?token={room.next_token()}"
        return url if since is None else f"{url}&since={since}"

    async def handshake(self, ws: PicowsSocket, room: Room) -> int:
        # welcome, any replay (CHAT_HISTORY_ON_CONNECT), then synced.
        for _ in range(100_000):
            frame = orjson.loads(await ws.recv())
            if frame["type"] == "synced":
                return int(frame["last_seq"])
            if frame["type"] not in ("welcome", "message"):
                raise RuntimeError(f"unexpected frame before synced: {frame}")
        raise RuntimeError("no synced frame")


class SocketIOTarget(Target):
    """Engine.IO v4 / Socket.IO v5 spoken directly over a plain WebSocket: python-socketio's
    AsyncClient needs aiohttp, which is not installed."""

    name = "socketio"

    def url(self, room: Room, since: int | None = None) -> str:
        return f"{self.ws}/socket.io/?EIO=4&transport=websocket"

    async def handshake(self, ws: PicowsSocket, room: Room) -> int:
        opening = await ws.recv()  # engine.io OPEN: 0{"sid":...}
        if not str(opening).startswith("0"):
            raise RuntimeError(f"unexpected engine.io open: {opening!r}")
        await ws.send("40")  # socket.io CONNECT to "/"
        await self._expect(ws, "40")
        await ws.send('421["join",' + orjson.dumps(room.key).decode() + "]")  # EVENT with ack id 1
        await self._expect(ws, "431")
        return 0

    async def _expect(self, ws: PicowsSocket, prefix: str) -> None:
        for _ in range(100):
            text = str(await ws.recv())
            if text.startswith(prefix):
                return
            if text == "2":
                await ws.send("3")
        raise RuntimeError(f"no {prefix!r} packet from the socket.io server")

    def wrap(self, frame: str) -> str:
        return '42["message",' + frame + "]"

    def unwrap(self, text: str) -> dict[str, Any] | None:
        if not text.startswith("42"):
            return None
        event, data = orjson.loads(text[2:])
        return data if event == "message" else {"type": event}  # type: ignore[no-any-return]

    def reply(self, text: str) -> str | None:
        return "3" if text == "2" else None  # engine.io v4: the server pings, we pong


def make_target(name: str, port: int) -> Target:
    kinds = {
        "service": ServiceTarget,
        "raw_ws": Target,
        "picows": Target,
        "bare_fastapi": Target,
        "socketio": SocketIOTarget,
        "socketio-node": SocketIOTarget,  # the same protocol, served by Node.js
    }
    return kinds[name](port)


# ------------------------------------------------------------------ service setup


@dataclass
class Room:
    key: str  # service: room id; socketio: room name; others: unused
    tokens: Sequence[str] = ()
    mention: str = ""  # service: the creator's name, a member (the senders are tokens[1:] unless one user)
    _turn: int = 0

    def next_token(self) -> str:
        self._turn += 1
        return self.tokens[self._turn % len(self.tokens)]


async def service_rooms(port: int, n_users: int, n_rooms: int, members: bool = False) -> list[Room]:
    """Register n_users (argon2: ~50 ms each), log them in, create n_rooms public rooms
    (with `members`, every user a member of each)."""
    tokens, room_ids = await users_and_rooms(port, n_users, n_rooms, members)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as http:
        me = await http.get("/users/me", headers={"Authorization": f"Bearer {tokens[0]}"})
        creator = str(me.raise_for_status().json()["username"])
    return [Room(str(room_id), tokens, creator) for room_id in room_ids]


async def service_last_seqs(port: int, rooms: Sequence[Room]) -> list[int]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as http:
        auth = {"Authorization": f"Bearer {rooms[0].tokens[0]}"}
        limit = asyncio.Semaphore(8)

        async def last_seq(room: Room) -> int:
            async with limit:
                r = await http.get(f"/rooms/{room.key}", headers=auth)
                r.raise_for_status()
                return int(r.json()["last_seq"])

        return list(await asyncio.gather(*(last_seq(r) for r in rooms)))


async def users_and_rooms(port: int, n_users: int, n_rooms: int, members: bool = False) -> tuple[list[str], list[int]]:
    """n_users users, each with its own token (argon2 twice each: register, login), and n_rooms public rooms
    created by the first; with `members`, every user is a member of every room (else the first alone)."""
    run = secrets.token_hex(3)
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=300, limits=limits) as http:
        limit = asyncio.Semaphore(4)  # the server hashes one at a time anyway (CHAT_HASH_CONCURRENCY)

        async def user(i: int) -> str:
            name = f"m{run}_{i}"
            async with limit:
                (await http.post("/auth/register", json={"username": name, "password": PASSWORD})).raise_for_status()
                r = await http.post("/auth/token", data={"username": name, "password": PASSWORD})
                r.raise_for_status()
                return str(r.json()["access_token"])

        tokens = list(await asyncio.gather(*(user(i) for i in range(n_users))))
        auth = {"Authorization": f"Bearer {tokens[0]}"}
        room_limit = asyncio.Semaphore(8)

        async def create(i: int) -> int:
            async with room_limit:
                r = await http.post("/rooms", json={"name": f"bench-{run}-{i}"}, headers=auth)
                r.raise_for_status()
                return int(r.json()["id"])

        room_ids = list(await asyncio.gather(*(create(i) for i in range(n_rooms))))

        async def add(room_id: int, i: int) -> None:
            async with room_limit:
                r = await http.post(f"/rooms/{room_id}/members", json={"username": f"m{run}_{i}"}, headers=auth)
                r.raise_for_status()

        if members:
            await asyncio.gather(*(add(room_id, i) for room_id in room_ids for i in range(1, n_users)))
        return tokens, room_ids


async def make_rooms(target: Target, n_rooms: int, n_users: int, members: bool = False) -> list[Room]:
    if isinstance(target, ServiceTarget):
        return await service_rooms(target.port, n_users, n_rooms, members)
    return [Room(f"room-{i}") for i in range(n_rooms)]


async def open_socket(target: Target, room: Room, since: int | None = None, timeout: float = 60) -> PicowsSocket:
    return await connect(target.url(room, since), timeout)


async def close_all(sockets: Sequence[PicowsSocket]) -> None:
    limit = asyncio.Semaphore(256)

    async def close(ws: PicowsSocket) -> None:
        async with limit:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)

    await asyncio.gather(*(close(ws) for ws in sockets))
