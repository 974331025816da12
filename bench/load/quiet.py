"""Open rooms at rest (`bench/run.py --scenarios quiet`): what an instance spends
holding many rooms open with no traffic, and what opening a room's feed costs.

Against a running service on a fresh database, in order:
1. --rooms public rooms over REST, then the server's CPU over --window seconds with
   no socket at all: the reference.
2. One per-room socket in each of the first --per-room-rooms rooms (the C listeners
   of native.py): each is its room's first socket here, so it opens the
   room's feed; server CPU per connect, to `synced`.
3. --second-sockets more sockets in rooms already open: the same connect without a
   new feed, the reference for 2.
4. Server CPU over --window seconds with all of those open and nothing sent.
5. With --reference-port, as many idle sockets on the bare FastAPI app, and its
   CPU over the same window: what holding the sockets costs, rooms aside.
6. As many per-room sockets again, now in --few-rooms rooms, and the idle window:
   the same sockets with almost no rooms open, so the difference from 4 is what
   the open rooms cost.
7. Those closed; --rooms / --rooms-per-socket `/ws` sockets, each subscribing to
   --rooms-per-socket rooms of its own (every room once), per subscription; then
   the idle window again.

The per-room phase stops short of --rooms because the server and the generator
each hold one descriptor per socket, and a process here may hold 20,000 at most."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import Any

import orjson

from load import procstat
from load.native import NativeListeners
from load.picows_client import PicowsSocket, connect
from load.targets import CONNECT_CONCURRENCY, users_and_rooms
from load.window import Window

HELP = "many rooms open and nothing sent; the first sockets of rooms"


async def idle_window(args: argparse.Namespace, what: str, pid: int | None = None) -> dict[str, Any]:
    pid = pid or args.server_pid
    window = Window(pid)
    window.start()
    await asyncio.sleep(args.window)
    usage = window.stop()
    assert usage.server_cpu_s is not None
    return {
        "what": what,
        "window_s": round(usage.wall_s, 2),
        "server_cpu_pct": round(100 * usage.server_cpu_s / usage.wall_s, 3),
        "others_server_core_pct": usage.others_server_core_pct,
        "rss_kib": procstat.rss_kib(pid),
    }


async def open_per_room(
    args: argparse.Namespace, paths: Sequence[str], reference: bool = False
) -> tuple[NativeListeners, dict[str, Any]]:
    """C listeners on `paths` of the service (to `synced`), or of the reference app."""
    port, pid = (args.reference_port, args.reference_pid) if reference else (args.port, args.server_pid)
    listeners = NativeListeners(port, 1000)
    await listeners.start()
    for path in paths:
        listeners.add(path, 0, not reference)
    window = Window(pid, [listeners.pid])
    window.start()
    ok, failed = await listeners.connect()
    usage = window.stop()
    return listeners, {
        "sockets": ok,
        "failed": failed,
        "wall_s": round(usage.wall_s, 2),
        "server_cpu_us_per_connect": usage.server_per(ok, 1e6),
        "others_server_core_pct": usage.others_server_core_pct,
    }


async def subscribe_mux(
    args: argparse.Namespace, tokens: Sequence[str], room_ids: Sequence[int]
) -> tuple[list[PicowsSocket], dict[str, Any]]:
    k = args.rooms_per_socket
    groups = [room_ids[i : i + k] for i in range(0, len(room_ids), k)]
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    failed = 0

    async def one(i: int, rooms: Sequence[int]) -> PicowsSocket:
        nonlocal failed
        async with limit:
            ws = await connect(f"ws://127.0.0.1:{args.port}/ws?token={tokens[i % len(tokens)]}", timeout=120)
            await ws.recv()  # hello
            await ws.send(orjson.dumps({"type": "subscribe", "rooms": [{"room": r} for r in rooms]}).decode())
            synced = 0
            while synced < len(rooms):
                frame = orjson.loads(await ws.recv())
                if frame["type"] == "synced":
                    synced += 1
                elif frame["type"] == "error":
                    failed += 1
                    synced += 1
        return ws

    window = Window(args.server_pid)
    window.start()
    sockets = list(await asyncio.gather(*(one(i, g) for i, g in enumerate(groups))))
    usage = window.stop()
    return sockets, {
        "sockets": len(sockets),
        "subscriptions": len(room_ids),
        "failed": failed,
        "wall_s": round(usage.wall_s, 2),
        "server_cpu_us_per_subscription": usage.server_per(len(room_ids), 1e6),
        "others_server_core_pct": usage.others_server_core_pct,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tokens, room_ids = await users_and_rooms(args.port, args.users, args.rooms)
    out: dict[str, Any] = {"rooms": len(room_ids), "idle": [await idle_window(args, "no sockets")]}

    per_room = room_ids[: args.per_room_rooms]
    first, out["first_sockets"] = await open_per_room(
        args, [f"/ws/rooms/{r}?token={tokens[i % len(tokens)]}" for i, r in enumerate(per_room)]
    )
    second, out["second_sockets"] = await open_per_room(
        args,
        [f"/ws/rooms/{r}?token={tokens[(i + 1) % len(tokens)]}" for i, r in enumerate(per_room[: args.second_sockets])],
    )
    idle = await idle_window(args, f"{len(per_room)} rooms, per-room sockets")
    out["idle"].append({**idle, "sockets": out["first_sockets"]["sockets"] + out["second_sockets"]["sockets"]})
    for listeners in (first, second):
        await listeners.end()
    if args.reference_port:
        # The same number of idle sockets on the bare FastAPI app: what holding the
        # sockets costs (uvicorn's keepalive pings, every 20 s each), rooms aside.
        paths = ["/ws"] * (len(per_room) + args.second_sockets)
        bare, opened = await open_per_room(args, paths, reference=True)
        idle = await idle_window(args, "bare FastAPI, idle sockets", args.reference_pid)
        out["idle"].append({**idle, "sockets": opened["sockets"]})
        await bare.end()

    few = per_room[: args.few_rooms]
    n_sockets = len(per_room) + args.second_sockets
    crowded, _ = await open_per_room(
        args, [f"/ws/rooms/{few[i % len(few)]}?token={tokens[i % len(tokens)]}" for i in range(n_sockets)]
    )
    idle = await idle_window(args, f"{len(few)} rooms, per-room sockets")
    out["idle"].append({**idle, "sockets": n_sockets})
    await crowded.end()

    sockets, out["mux_subscribe"] = await subscribe_mux(args, tokens, room_ids)
    idle = await idle_window(args, f"{len(room_ids)} rooms on /ws")
    out["idle"].append({**idle, "sockets": len(sockets)})
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rooms", type=int, default=20_000)
    p.add_argument("--per-room-rooms", type=int, default=18_000, help="rooms given one per-room socket each")
    p.add_argument("--second-sockets", type=int, default=1_000, help="per-room sockets in rooms already open")
    p.add_argument("--few-rooms", type=int, default=19, help="rooms holding as many per-room sockets, for step 6")
    p.add_argument("--rooms-per-socket", type=int, default=20, help="/ws: rooms each socket subscribes to")
    p.add_argument("--window", type=float, default=20, help="seconds of each idle measurement")
    p.add_argument("--reference-port", type=int, help="bench/peers/bare_fastapi.py: as many idle sockets there")
    p.add_argument("--reference-pid", type=int)
