"""Replay: fill a room with M messages, then N clients reconnect at once with
`since` the seq before them; connect to `synced` per client, every missed message
checked, server CPU per replay."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import orjson

from load.broadcast import FrameCounter, Receiver, Sender, Stats, drain, receive, send_closed
from load.picows_client import PicowsSocket
from load.targets import close_all, make_rooms, make_target, open_socket
from load.window import Window, now_ns, percentiles_ms

HELP = "N clients reconnect with since after M missed messages"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    target = make_target("service", args.port)
    (room,) = await make_rooms(target, 1, args.users)
    # Fill the room: one sender, a few messages in flight, until all are echoed.
    stats = Stats()
    sender = Sender(0, asyncio.Semaphore(16))
    ws = await open_socket(target, room)
    since = await target.handshake(ws, room)
    reader = asyncio.create_task(receive(ws, FrameCounter(target, Receiver(sender, own=True, last_seq=since), stats)))
    deadline = now_ns() + int(args.fill_timeout * 1e9)
    await send_closed(ws, target, sender, deadline, args.missed, "x" * max(0, args.body_size - 40))
    await drain(stats, lambda: sender.sent, 5, args.fill_timeout)
    await close_all([ws])
    await asyncio.wait([reader], timeout=10)
    if stats.delivered != args.missed:
        raise RuntimeError(f"filled {stats.delivered} of {args.missed} messages")

    limit = asyncio.Semaphore(args.concurrency)
    times: list[int] = []
    bad: list[str] = []
    lost = dup = truncated = 0
    sockets: list[PicowsSocket] = []

    async def reconnect() -> None:
        nonlocal lost, dup, truncated
        async with limit:
            t = now_ns()
            ws = await open_socket(target, room, since)
            sockets.append(ws)
            seqs: list[int] = []
            for _ in range(args.missed + 10):
                frame = orjson.loads(await ws.recv())
                if frame["type"] == "message":
                    seqs.append(frame["seq"])
                elif frame["type"] == "synced":
                    times.append(now_ns() - t)
                    truncated += bool(frame["truncated"])
                    break
                elif frame["type"] != "welcome":
                    bad.append(str(frame)[:200])
            got = set(seqs)
            lost += len(set(range(since + 1, since + args.missed + 1)) - got)
            dup += len(seqs) - len(got)

    window = Window(args.server_pid)
    window.start()
    outcomes = await asyncio.gather(*(reconnect() for _ in range(args.clients)), return_exceptions=True)
    cpu = window.stop()
    await close_all(sockets)
    errors = [f"{type(o).__name__}: {o}"[:200] for o in outcomes if isinstance(o, BaseException)]
    n = len(times)
    return {
        "target": "service",
        "clients": args.clients,
        "missed": args.missed,
        "completed": n,
        "errors": len(errors) + len(bad),
        "errors_sample": (errors + bad)[:3],
        "lost": lost,
        "duplicated": dup,
        "truncated": truncated,
        "replays_per_s": cpu.per_s(n),
        "replayed_msgs_per_s": cpu.per_s(n * args.missed),
        **{f"synced_{k}": v for k, v in percentiles_ms(times).items()},
        **cpu.as_dict(),
        "server_cpu_ms_per_replay": cpu.server_per(n, 1e3),
        "server_cpu_us_per_replayed_msg": cpu.server_per(n * args.missed, 1e6),
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clients", type=int, default=500)
    p.add_argument("--missed", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=500, help="reconnects in progress at once")
    p.add_argument("--fill-timeout", type=float, default=120)
