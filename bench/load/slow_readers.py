"""Slow readers (`bench/run.py --scenarios slow-readers`): the memory of a
`chat-service serve` process while clients read nothing, and after.

Against a running service with CHAT_MAX_MESSAGE_CHARS of at least 16,000 (the
runner starts one on a fresh database), stores --messages messages of 16 KB in one
room, then:
1. --clients raw sockets (4 KiB receive buffers) open a per-room socket with
   `since=0` and never read past the handshake; the server's RSS (MiB) and open
   descriptors every --interval seconds for --watch seconds (the 1013 comes after
   CHAT_SEND_TIMEOUT_SECONDS, the reset when that close is not read either), then
   --gone-wait seconds after the clients left;
2. as many raw requests for a 500-entry `GET /rooms/{id}/events` page, never read;
   the same."""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import time
from typing import Any

import httpx
import orjson

from load import procstat
from load.picows_client import connect
from load.targets import PASSWORD

HELP = "RSS while clients read nothing: per-room sockets with since=0, then unread event pages"
BODY = 16_000


def unread(port: int, request: bytes) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(request)
    return sock


async def watch(pid: int, seconds: float, interval: float) -> list[tuple[float, int, int]]:
    """(seconds, RSS in MiB, open descriptors) every interval."""
    samples = []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        await asyncio.sleep(interval)
        descriptors = len(os.listdir(f"/proc/{pid}/fd"))
        samples.append((round(time.monotonic() - start, 1), procstat.rss_kib(pid) // 1024, descriptors))
    return samples


async def phase(args: argparse.Namespace, request: bytes) -> dict[str, Any]:
    socks = [unread(args.port, request) for _ in range(args.clients)]
    samples = await watch(args.server_pid, args.watch, args.interval)
    for sock in socks:
        sock.close()
    await asyncio.sleep(args.gone_wait)
    return {"samples": samples, "clients_gone_mib": procstat.rss_kib(args.server_pid) // 1024}


async def fill(http: httpx.AsyncClient, port: int, messages: int) -> tuple[str, int]:
    await http.post("/auth/register", json={"username": "alice", "password": PASSWORD})
    token = (await http.post("/auth/token", data={"username": "alice", "password": PASSWORD})).json()["access_token"]
    room = (await http.post("/rooms", json={"name": "big"}, headers={"Authorization": f"Bearer {token}"})).json()["id"]
    ws = await connect(f"ws://127.0.0.1:{port}/ws/rooms/{room}?token={token}")
    try:
        for i in range(messages):
            await ws.send(orjson.dumps({"type": "message", "body": f"{i} " + "x" * (BODY - 10)}).decode())
        echoed = 0
        while echoed < messages:
            echoed += orjson.loads(await ws.recv())["type"] == "message"
    finally:
        await ws.close()
    return token, room


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}/api/v1", timeout=60) as http:
        token, room = await fill(http, args.port, args.messages)
    await asyncio.sleep(args.gone_wait)
    out: dict[str, Any] = {
        "clients": args.clients,
        "messages": args.messages,
        "body_chars": BODY,
        "watch_s": args.watch,
        "samples_interval_s": args.interval,
        "at_rest_mib": procstat.rss_kib(args.server_pid) // 1024,
    }
    key = base64.b64encode(os.urandom(16)).decode()
    out["sockets"] = await phase(
        args,
        f"GET /ws/rooms/{room}?since=0&token={token} HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\n"
        f"connection: Upgrade\r\nsec-websocket-key: {key}\r\nsec-websocket-version: 13\r\n\r\n".encode(),
    )
    out["responses"] = await phase(
        args,
        f"GET /api/v1/rooms/{room}/events?after_seq=0&limit=500 HTTP/1.1\r\nhost: x\r\n"
        f"authorization: Bearer {token}\r\n\r\n".encode(),
    )
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clients", type=int, default=60)
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--watch", type=float, default=80.0, help="seconds each phase is watched")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    p.add_argument("--gone-wait", type=float, default=3.0, help="seconds before the reading after the clients left")
