"""Connect: what opening a socket costs the server, as users open them, each row
its server CPU per connect (from /proc) and connect → `synced` wall time.

- per-room sockets into a room of 0 and of 1,000 messages, one at a time and 64
  at a time, while another socket keeps the room open;
- a `/ws` socket subscribing to such a room without `since`;
- the first socket of a new room (its feed opens);
- distinct users connecting one after another into one room: each one's presence
  join goes to every socket before it. The same number of connects by users
  already there (no join) follows: the difference is the joins' cost.

Every socket stays open until its row ends."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from load.broadcast import FrameCounter, Receiver, Sender, Stats, drain, receive, send_closed
from load.picows_client import PicowsSocket, connect
from load.targets import Room, ServiceTarget, close_all, service_rooms, users_and_rooms
from load.window import Window, now_ns, percentiles_ms

HELP = "the server's CPU per socket connect: per-room, /ws subscribe, a new room's first, distinct users"

Open = Callable[[int], Awaitable[PicowsSocket]]  # the i-th connect of a row, until `synced`


async def run(args: argparse.Namespace) -> dict[str, Any]:
    target = ServiceTarget(args.port)
    empty, full, *new_rooms = await service_rooms(args.port, args.users, 2 + args.new_rooms)
    await _fill(target, full, args.messages, args.body_size)
    ws_base = f"ws://127.0.0.1:{args.port}"
    rows: list[dict[str, Any]] = []

    async def per_room(room: Room, i: int) -> PicowsSocket:
        ws = await connect(target.url(room))
        await target.handshake(ws, room)
        return ws

    keepers = [await per_room(room, 0) for room in (empty, full)]
    # Warm-up: every token checked, pools and caches filled, outside the windows.
    await close_all([await per_room(room, i) for room in (empty, full) for i in range(args.warmup)])
    for room, messages in ((empty, 0), (full, args.messages)):
        for concurrency in (1, 64):
            rows.append(
                await _row(args, "per-room", messages, concurrency, args.connects, lambda i, r=room: per_room(r, i))
            )
    for room, messages in ((empty, 0), (full, args.messages)):
        sockets = [await _hello(f"{ws_base}/ws?token={room.next_token()}") for _ in range(args.connects)]
        rows.append(await _row(args, "/ws subscribe", messages, 1, args.connects, _subscriber(sockets, room)))
    rows.append(await _row(args, "new room's first", 0, 1, len(new_rooms), lambda i: per_room(new_rooms[i], i)))
    await close_all(keepers)
    rows += await _distinct_users(args, target)
    return {"target": "service", "rows": rows}


async def _row(
    args: argparse.Namespace,
    what: str,
    messages: int,
    concurrency: int,
    n: int,
    open_one: Open,
    keep: list[PicowsSocket] | None = None,
) -> dict[str, Any]:
    """n connects, `concurrency` at a time; their sockets closed afterwards, or
    added to `keep`."""
    limit = asyncio.Semaphore(concurrency)
    times: list[int] = []
    sockets: list[PicowsSocket] = []

    async def one(i: int) -> None:
        async with limit:
            t = now_ns()
            sockets.append(await open_one(i))
            times.append(now_ns() - t)

    window = Window(args.server_pid)
    window.start()
    outcomes = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    usage = window.stop()
    if keep is None:
        await close_all(sockets)
    else:
        keep += sockets
    errors = [f"{type(o).__name__}: {o}"[:200] for o in outcomes if isinstance(o, BaseException)]
    done = len(times)
    return {
        "what": what,
        "messages": messages,
        "concurrency": concurrency,
        "connects": done,
        "failed": len(errors),
        "failures_sample": errors[:3],
        "server_cpu_us_per_connect": usage.server_per(done, 1e6),
        **{f"synced_{k}": v for k, v in percentiles_ms(times).items()},
        "gen_cpu_pct": usage.as_dict()["gen_cpu_pct"],
        "others_server_core_pct": usage.others_server_core_pct,
    }


async def _hello(url: str) -> PicowsSocket:
    ws = await connect(url)
    hello = await ws.recv()
    if not hello.startswith('{"type":"hello"'):
        raise RuntimeError(f"expected hello, got {hello[:200]}")
    return ws


def _subscriber(sockets: list[PicowsSocket], room: Room) -> Open:
    frame = orjson.dumps({"type": "subscribe", "rooms": [{"room": int(room.key), "since": None}]}).decode()

    async def subscribe(i: int) -> PicowsSocket:
        ws = sockets[i]
        await ws.send(frame)
        # On /ws a room's frames begin with its "room".
        while '"type":"synced"' not in (text := await ws.recv()):
            if '"type":"welcome"' not in text and '"type":"message"' not in text:
                raise RuntimeError(f"unexpected frame before synced: {text[:200]}")
        return ws

    return subscribe


async def _distinct_users(args: argparse.Namespace, target: ServiceTarget) -> list[dict[str, Any]]:
    """N users one after another into one room (each a presence join to those
    before), then N more connects by users already there (no join)."""
    tokens, (room_id, warm_id) = await users_and_rooms(args.port, args.distinct_users, 2)
    room, warm = Room(str(room_id), tokens), Room(str(warm_id), tokens)

    async def user_connects(into: Room, i: int) -> PicowsSocket:
        ws = await connect(f"{target.ws}/ws/rooms/{into.key}?token={tokens[i % len(tokens)]}")
        await target.handshake(ws, into)
        return ws

    # Each token checked once, in another room, outside the windows.
    await close_all([await user_connects(warm, i) for i in range(len(tokens))])
    n = len(tokens)
    held: list[PicowsSocket] = []  # kept until both rows are measured: the room's other sockets
    joins = await _row(args, "distinct users (with join)", 0, 1, n, lambda i: user_connects(room, i), held)
    again = await _row(args, "users already there (no join)", 0, 1, n, lambda i: user_connects(room, i))
    await close_all(held)
    joins["presence_deliveries"] = n * (n - 1) // 2
    if joins["server_cpu_us_per_connect"] is not None and again["server_cpu_us_per_connect"] is not None:
        join = joins["server_cpu_us_per_connect"] - again["server_cpu_us_per_connect"]
        joins["join_us_per_connect"] = round(join, 1)
        joins["join_us_per_delivery"] = round(join * n / max(1, joins["presence_deliveries"]), 2)
    return [joins, again]


async def _fill(target: ServiceTarget, room: Room, count: int, body_size: int) -> None:
    """`count` messages in the room, sent over one socket and echoed back."""
    if count == 0:
        return
    stats = Stats()
    sender = Sender(0, asyncio.Semaphore(16))
    ws = await connect(target.url(room))
    since = await target.handshake(ws, room)
    reader = asyncio.create_task(receive(ws, FrameCounter(target, Receiver(sender, own=True, last_seq=since), stats)))
    await send_closed(ws, target, sender, now_ns() + int(120e9), count, "x" * max(0, body_size - 40))
    await drain(stats, lambda: sender.sent, 5, 120)
    await close_all([ws])
    await asyncio.wait([reader], timeout=10)
    if stats.delivered != count:
        raise RuntimeError(f"filled {stats.delivered} of {count} messages")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--connects", type=int, default=500, help="connects per row")
    p.add_argument("--messages", type=int, default=1000, help="messages in the full room")
    p.add_argument("--new-rooms", type=int, default=200, help="rooms whose first socket is measured")
    p.add_argument("--distinct-users", type=int, default=300, help="users connecting one after another")
    p.add_argument("--warmup", type=int, default=20, help="connects into each room before measuring")
