"""Read probe: one user's reads, one at a time, each timed from the client, while
something else may be writing (bench/run.py --scenarios reads-under-write):

- `connect`: a per-room socket into a room of --messages messages, in the default
  configuration (its newest CHAT_HISTORY_ON_CONNECT entries replayed), until `synced`;
- `history`: GET /rooms/{id}/messages, a page of 50;
- `my_rooms`: GET /users/me/rooms, the user a member of --rooms rooms.

With --until-file it runs until that file exists and prints every sample with its
Unix time, so the scenario keeps those inside another run's sending window; else
it runs --duration seconds and prints percentiles."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from load.picows_client import connect
from load.targets import Room, ServiceTarget, close_all, users_and_rooms
from load.window import now_ns, percentiles_ms

HELP = "one user's connect, history page and room list, one at a time, timed (beside a writer's load)"
KINDS = ("connect", "history", "my_rooms")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    target = ServiceTarget(args.port)
    tokens, room_ids = await users_and_rooms(args.port, 1, args.rooms)
    room = Room(str(room_ids[0]), tokens)
    auth = {"Authorization": f"Bearer {tokens[0]}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}/api/v1", timeout=60, headers=auth) as http:
        await _fill(http, room_ids[0], args.messages)

        async def connect_one() -> None:
            ws = await connect(target.url(room))
            await target.handshake(ws, room)
            await close_all([ws])

        async def history() -> None:
            (await http.get(f"/rooms/{room.key}/messages", params={"limit": 50})).raise_for_status()

        async def my_rooms() -> None:
            (await http.get("/users/me/rooms")).raise_for_status()

        probes = dict(zip(KINDS, (connect_one, history, my_rooms), strict=True))
        for _ in range(args.warmup):
            for probe in probes.values():
                await probe()
        samples: list[tuple[float, str, int]] = []
        until = Path(args.until_file) if args.until_file else None
        deadline = time.monotonic() + args.duration
        if until is not None:
            Path(args.ready_file).touch()
        while (until is None and time.monotonic() < deadline) or (until is not None and not until.exists()):
            for kind, probe in probes.items():
                t = now_ns()
                await probe()
                samples.append((time.time(), kind, now_ns() - t))
    if until is not None:
        return {"target": "service", "samples": [(round(u, 4), k, ns) for u, k, ns in samples]}
    return {"target": "service", **summary(samples)}


def summary(samples: list[tuple[float, str, int]]) -> dict[str, Any]:
    return {
        kind: {"n": n, **percentiles_ms(s)}
        for kind in KINDS
        if (n := len(s := [ns for _, k, ns in samples if k == kind]))
    }


async def _fill(http: httpx.AsyncClient, room_id: int, count: int) -> None:
    """`count` messages sent over REST, 16 in flight."""
    limit = asyncio.Semaphore(16)

    async def send(i: int) -> None:
        async with limit:
            r = await http.post(
                f"/rooms/{room_id}/messages", json={"body": f"probe message {i}", "client_msg_id": f"p{i}"}
            )
            r.raise_for_status()

    await asyncio.gather(*(send(i) for i in range(count)))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--messages", type=int, default=1000, help="messages in the probed room")
    p.add_argument("--rooms", type=int, default=50, help="rooms the user is a member of (its room list)")
    p.add_argument("--duration", type=float, default=10, help="seconds, without --until-file")
    p.add_argument("--until-file", default="", help="run until this file exists; print every sample")
    p.add_argument("--ready-file", default="", help="with --until-file: touched when the timed loop starts")
    p.add_argument("--warmup", type=int, default=5, help="rounds of every probe before timing")
