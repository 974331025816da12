"""Idle: open N sockets after a warm-up and hold them; the server's RSS before and
after, and its CPU per connect."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from load import procstat
from load.picows_client import PicowsSocket
from load.targets import CONNECT_CONCURRENCY, TARGETS, close_all, make_rooms, make_target, open_socket
from load.window import Window

HELP = "open N idle connections, RSS per connection"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    target = make_target(args.target, args.port)
    (room,) = await make_rooms(target, 1, args.users)
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    failures: list[str] = []

    async def one() -> PicowsSocket | None:
        async with limit:
            try:
                ws = await open_socket(target, room)
                await target.handshake(ws, room)
                return ws
            except Exception as exc:  # counted and reported, not fatal
                failures.append(f"{type(exc).__name__}: {exc}"[:200])
                return None

    # Warm-up: the first connections allocate caches and pools that are not per-connection.
    warm = [ws for ws in await asyncio.gather(*(one() for _ in range(args.warmup))) if ws]
    await close_all(warm)
    await asyncio.sleep(args.settle)
    rss0 = procstat.rss_kib(args.server_pid)
    window = Window(args.server_pid)
    window.start()
    sockets = [ws for ws in await asyncio.gather(*(one() for _ in range(args.connections))) if ws]
    opened = window.stop()
    await asyncio.sleep(args.settle)
    rss1 = procstat.rss_kib(args.server_pid)
    alive = sum(1 for ws in sockets if ws.close_code is None)
    await close_all(sockets)
    n = len(sockets)
    return {
        "target": args.target,
        "connections": n,
        "alive_at_measure": alive,
        "failed": len(failures),
        "failures_sample": failures[:3],
        "rss_before_kib": rss0,
        "rss_after_kib": rss1,
        "rss_per_conn_kib": round((rss1 - rss0) / n, 2) if n else None,
        "connect_s": round(opened.wall_s, 3),
        "connects_per_s": opened.per_s(n),
        "server_cpu_us_per_connect": opened.server_per(n, 1e6),
        "gen_cpu_pct": opened.as_dict()["gen_cpu_pct"],
        "others_server_core_pct": opened.others_server_core_pct,
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", choices=TARGETS, required=True)
    p.add_argument("--connections", type=int, default=5000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--settle", type=float, default=2.0, help="seconds before each RSS reading")
