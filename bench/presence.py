"""What presence costs Redis: its memory per (user, room) online, and per room.

    python bench/presence.py --port P --server-pid PID --redis-url redis://127.0.0.1:6379/0 --prefix PREFIX

Against a running service on Redis (CHAT_REDIS_PREFIX=PREFIX) with a fresh prefix:
--users users and --rooms public rooms over REST, then one per-room socket for
each (user, room) pair of --users-per-room users per room (the C listeners of
native_client.py), and Redis's used_memory and the prefix's keys before and after,
once every socket is `synced` and presence has settled. Prints one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

import orjson
import procstat
import redis.asyncio as aioredis
import uvloop
from loadgen import users_and_rooms
from native_client import NativeListeners


async def redis_state(client: aioredis.Redis, prefix: str) -> dict[str, int]:
    info = await client.info("memory")
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
    per_key = [await client.memory_usage(key) or 0 for key in keys]
    return {"used_memory": int(info["used_memory"]), "keys": len(keys), "keys_bytes": sum(per_key)}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    client = aioredis.Redis.from_url(args.redis_url)
    tokens, room_ids = await users_and_rooms(args.port, args.users, args.rooms)
    before = await redis_state(client, args.prefix)
    listeners = NativeListeners(args.port, 1000)
    await listeners.start()
    pairs = 0
    for r, room in enumerate(room_ids):
        for k in range(args.users_per_room):
            listeners.add(f"/ws/rooms/{room}?token={tokens[(r + k) % len(tokens)]}", 0, True)
            pairs += 1
    ok, failed = await listeners.connect()
    await asyncio.sleep(args.settle)  # presence joins are written as the sockets open; let the last land
    after = await redis_state(client, args.prefix)
    await listeners.end()
    await client.aclose()
    grown = after["used_memory"] - before["used_memory"]
    return {
        "rooms": len(room_ids),
        "users": len(tokens),
        "online_pairs": pairs,
        "sockets": ok,
        "failed": failed,
        "before": before,
        "after": after,
        "used_memory_per_pair_bytes": round(grown / pairs, 1),
        "keys_bytes_per_pair": round((after["keys_bytes"] - before["keys_bytes"]) / pairs, 1),
        "server_rss_kib": procstat.rss_kib(args.server_pid),
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--redis-url", required=True)
    p.add_argument("--prefix", required=True, help="the service's CHAT_REDIS_PREFIX")
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--rooms", type=int, default=2000)
    p.add_argument("--users-per-room", type=int, default=5)
    p.add_argument("--settle", type=float, default=3.0)
    return p.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    procstat.raise_nofile(arguments.rooms * arguments.users_per_room + 1024)
    print(orjson.dumps(uvloop.run(main(arguments))).decode(), flush=True)
