"""Login: a storm of POST /auth/token over a few users (argon2 on the server)."""

from __future__ import annotations

import argparse
import asyncio
import secrets
from typing import Any

import httpx

from load.targets import PASSWORD
from load.window import Window, now_ns, percentiles_ms

HELP = "a storm of POST /auth/token"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    names = [f"login{secrets.token_hex(3)}_{i}" for i in range(args.users)]
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}/api/v1", timeout=120, limits=limits) as http:
        for name in names:
            (await http.post("/auth/register", json={"username": name, "password": PASSWORD})).raise_for_status()
        times: list[int] = []
        statuses: dict[str, int] = {}
        limit = asyncio.Semaphore(args.concurrency)

        async def login(i: int) -> None:
            async with limit:
                t = now_ns()
                try:
                    r = await http.post("/auth/token", data={"username": names[i % len(names)], "password": PASSWORD})
                    key = str(r.status_code)
                    if r.status_code == 200:
                        times.append(now_ns() - t)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                statuses[key] = statuses.get(key, 0) + 1

        window = Window(args.server_pid)
        window.start()
        await asyncio.gather(*(login(i) for i in range(args.logins)))
        cpu = window.stop()
    ok = statuses.get("200", 0)
    return {
        "target": "service",
        "logins": args.logins,
        "users": args.users,
        "concurrency": args.concurrency,
        "ok": ok,
        "statuses": statuses,
        "logins_per_s": cpu.per_s(ok),
        **percentiles_ms(times),
        **cpu.as_dict(),
        "server_cpu_ms_per_login": cpu.server_per(ok, 1e3),
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--logins", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=32)
