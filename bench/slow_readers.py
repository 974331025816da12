"""Memory of a `chat-service serve` process while clients read nothing, and after.

    python bench/slow_readers.py [--clients 60] [--messages 1000] [--timeout 30]

Starts the service on a fresh SQLite file, stores --messages messages of 16 KB in
one room, then:
1. --clients raw sockets (4 KiB receive buffers) open a per-room socket with
   `since=0` and never read past the handshake; the server's RSS (MiB) and open
   descriptors every 5 s for --watch seconds (the 1013 comes after --timeout, the
   reset when that close is not read either), then once the clients are gone;
2. as many raw requests for a 500-entry `GET /rooms/{id}/events` page, never
   read; the same.
Prints one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import procstat
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
BODY = 16_000
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def unread(port: int, request: bytes) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(request)
    return sock


async def watch(pid: int, seconds: float) -> list[tuple[int, int, int]]:
    """(seconds, RSS in MiB, open descriptors) every 5 s."""
    samples = []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        await asyncio.sleep(5)
        descriptors = len(os.listdir(f"/proc/{pid}/fd"))
        samples.append((round(time.monotonic() - start), procstat.rss_kib(pid) // 1024, descriptors))
    return samples


async def phase(pid: int, port: int, request: bytes, args: argparse.Namespace) -> dict[str, Any]:
    socks = [unread(port, request) for _ in range(args.clients)]
    samples = await watch(pid, args.watch)
    for sock in socks:
        sock.close()
    await asyncio.sleep(3)
    return {"samples": samples, "clients_gone_mib": procstat.rss_kib(pid) // 1024}


async def fill(http: httpx.AsyncClient, port: int, messages: int) -> tuple[str, int]:
    await http.post("/auth/register", json={"username": "alice", "password": PASSWORD})
    token = (await http.post("/auth/token", data={"username": "alice", "password": PASSWORD})).json()["access_token"]
    room = (await http.post("/rooms", json={"name": "big"}, headers={"Authorization": f"Bearer {token}"})).json()["id"]
    async with connect(f"ws://127.0.0.1:{port}/ws/rooms/{room}?token={token}", max_size=None) as ws:
        for i in range(messages):
            await ws.send(orjson.dumps({"type": "message", "body": f"{i} " + "x" * (BODY - 10)}).decode())
        echoed = 0
        while echoed < messages:
            echoed += orjson.loads(await ws.recv())["type"] == "message"
    return token, room


async def main(args: argparse.Namespace) -> dict[str, Any]:
    workdir = tempfile.mkdtemp()
    port = free_port()
    env = {
        **os.environ,
        "CHAT_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/chat.db",
        "CHAT_SECRET_KEY": "k" * 48,
        "CHAT_MAX_MESSAGE_CHARS": str(BODY),
        "CHAT_RATE_PER_SECOND": "10000",
        "CHAT_RATE_BURST": "10000",
        "CHAT_MAX_CONNECTIONS_PER_USER": str(args.clients + 10),
        "CHAT_SEND_TIMEOUT_SECONDS": str(args.timeout),
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/chat-service"), "serve", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as http:
            for _ in range(300):
                assert server.poll() is None, "the service exited"
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            token, room = await fill(http, port, args.messages)
        await asyncio.sleep(2)
        out: dict[str, Any] = {"at_rest_mib": procstat.rss_kib(server.pid) // 1024}
        key = base64.b64encode(os.urandom(16)).decode()
        out["sockets"] = await phase(
            server.pid,
            port,
            f"GET /ws/rooms/{room}?since=0&token={token} HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\n"
            f"connection: Upgrade\r\nsec-websocket-key: {key}\r\nsec-websocket-version: 13\r\n\r\n".encode(),
            args,
        )
        out["responses"] = await phase(
            server.pid,
            port,
            f"GET /api/v1/rooms/{room}/events?after_seq=0&limit=500 HTTP/1.1\r\nhost: x\r\n"
            f"authorization: Bearer {token}\r\n\r\n".encode(),
            args,
        )
        return out
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=30.0, help="CHAT_SEND_TIMEOUT_SECONDS")
    parser.add_argument("--watch", type=float, default=80.0, help="seconds each phase is watched")
    sys.stdout.write(orjson.dumps(asyncio.run(main(parser.parse_args()))).decode() + "\n")
