"""Entries over REST: --entries messages (POST /rooms/{id}/messages), then as many
reactions added (PUT …/reactions/{emoji}) on those messages, then removed
(DELETE), each step with --concurrency requests in flight from --users members
of one room; the server's CPU per entry of each kind, measured alike."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from load.targets import users_and_rooms
from load.window import Window, now_ns, percentiles_ms

HELP = "messages, reactions added and removed over REST: the server's CPU per entry of each"
EMOJI = ("%F0%9F%91%8D", "%F0%9F%8E%89", ":ship:", "%E2%9C%85")  # 👍 🎉 :ship: ✅, percent-encoded as clients send them


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tokens, (room_id,) = await users_and_rooms(args.port, args.users, 1, members=True)
    auths = [{"Authorization": f"Bearer {t}"} for t in tokens]
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}/api/v1", timeout=120, limits=limits) as http:
        room = f"/rooms/{room_id}/messages"
        # Every message has the same room and so the same cost whoever sends it.
        sends = await _step(args, lambda i: http.post(room, json={"body": f"m{i}"}, headers=auths[i % len(auths)]))
        seqs = sends.pop("seqs")

        def reaction(i: int) -> str:
            # Request i is user i % len(auths)'s: each (user, message, emoji) once, so every request is an entry.
            rest = i // len(auths)
            return f"{room}/{seqs[rest % len(seqs)]}/reactions/{EMOJI[(rest // len(seqs)) % len(EMOJI)]}"

        adds = await _step(args, lambda i: http.put(reaction(i), headers=auths[i % len(auths)]))
        removes = await _step(args, lambda i: http.delete(reaction(i), headers=auths[i % len(auths)]))
    adds.pop("seqs")
    removes.pop("seqs")
    per = "server_cpu_us_per_entry"
    return {
        "target": "service",
        "entries": args.entries,
        "users": args.users,
        "concurrency": args.concurrency,
        "message": sends,
        "reaction_add": adds,
        "reaction_remove": removes,
        "add_per_message": _ratio(adds.get(per), sends.get(per)),
        "remove_per_message": _ratio(removes.get(per), sends.get(per)),
    }


async def _step(args: argparse.Namespace, request: Callable[[int], Awaitable[httpx.Response]]) -> dict[str, Any]:
    times: list[int] = []
    statuses: dict[str, int] = {}
    seqs: list[int] = []
    limit = asyncio.Semaphore(args.concurrency)

    async def one(i: int) -> None:
        async with limit:
            t = now_ns()
            try:
                r = await request(i)
                key = str(r.status_code)
                if r.is_success:
                    times.append(now_ns() - t)
                    if r.status_code == 201:
                        seqs.append(int(r.json()["seq"]))
            except httpx.HTTPError as exc:
                key = type(exc).__name__
            statuses[key] = statuses.get(key, 0) + 1

    window = Window(args.server_pid)
    window.start()
    await asyncio.gather(*(one(i) for i in range(args.entries)))
    cpu = window.stop()
    ok = len(times)
    return {
        "ok": ok,
        "statuses": statuses,
        "per_s": cpu.per_s(ok),
        **percentiles_ms(times),
        **cpu.as_dict(),
        "server_cpu_us_per_entry": cpu.server_per(ok, 1e6),
        "seqs": sorted(seqs),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--entries", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=16)
