"""Mux: N users with K rooms each, first on one /ws socket per user, then on one
/ws/rooms/{id} socket per (user, room): memory and CPU per socket and per
subscription, the subscribe storm, and a saturated fan-out in each phase."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import Any

import orjson

from load import procstat
from load.mux_peers import MuxStats, Peer, mux_fanout, mux_layout, mux_read
from load.picows_client import PicowsSocket, connect
from load.targets import CONNECT_CONCURRENCY, close_all, users_and_rooms
from load.window import Window, now_ns, percentiles_ms

HELP = "N users x K rooms on one /ws socket each, then one per-room socket per (user, room)"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """N users, each with K rooms on one /ws socket: memory and CPU per socket and per
    subscription, the subscribe storm, then fan-out; then the same users, rooms and
    traffic over one /ws/rooms/{id} socket per (user, room)."""
    http_port, ws_base = args.port, f"ws://127.0.0.1:{args.port}"
    n_rooms, layout = mux_layout(args.users, args.rooms_per_user, args.room_members)
    t_setup = now_ns()
    tokens, room_ids = await users_and_rooms(http_port, args.users, n_rooms)
    setup_s = (now_ns() - t_setup) / 1e9
    members = [0] * n_rooms
    for rooms in layout:
        for r in rooms:
            members[r] += 1
    prefixes = [f'{{"room":{rid},' for rid in room_ids]
    stats = MuxStats()
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    readers: list[asyncio.Task[None]] = []

    async def open_ws(url: str) -> PicowsSocket:
        return await connect(url, timeout=120)

    async def open_mux(u: int) -> Peer:
        async with limit:
            ws = await open_ws(f"{ws_base}/ws?token={tokens[u]}")
            hello = str(await ws.recv())
            if not hello.startswith('{"type":"hello"'):
                raise RuntimeError(f"expected hello, got {hello[:200]}")
        rooms = layout[u]
        peer = Peer(ws, rooms, u if u < n_rooms else None, len(rooms))
        readers.append(asyncio.create_task(mux_read(peer, stats.senders, prefixes, stats)))
        return peer

    subscribe_limit = asyncio.Semaphore(args.subscribe_concurrency)

    async def subscribe(peer: Peer) -> None:
        frame = orjson.dumps({"type": "subscribe", "rooms": [{"room": room_ids[r], "since": None} for r in peer.rooms]})
        async with subscribe_limit:
            peer.t0 = now_ns()
            await peer.ws.send(frame.decode())
            await peer.done.wait()

    async def open_room(u: int, r: int) -> Peer:
        peer = Peer(None, (r,), r if u == r else None, 1)  # type: ignore[arg-type]
        async with limit:
            peer.t0 = now_ns()
            peer.ws = await open_ws(f"{ws_base}/ws/rooms/{room_ids[r]}?token={tokens[u]}")
            readers.append(asyncio.create_task(mux_read(peer, stats.senders, None, stats)))
            await peer.done.wait()
        return peer

    def subscribed(peers: Sequence[Peer]) -> list[int]:
        count = [0] * n_rooms
        for peer in peers:
            if peer.failed == 0 and peer.synced == peer.want:
                for r in peer.rooms:
                    count[r] += 1
        return count

    # Warm-up: pools and caches that are not per socket.
    warm = await asyncio.gather(*(open_mux(u) for u in range(min(args.warmup, args.users))))
    await asyncio.gather(*(subscribe(p) for p in warm))
    await close_all([p.ws for p in warm])
    await asyncio.sleep(args.settle)

    # /ws: connect (hello), then the subscribe storm, then fan-out.
    rss0 = procstat.rss_kib(args.server_pid) if args.server_pid else None
    window = Window(args.server_pid)
    window.start()
    peers = list(await asyncio.gather(*(open_mux(u) for u in range(args.users))))
    connected = window.stop()
    await asyncio.sleep(args.settle)
    rss1 = procstat.rss_kib(args.server_pid) if args.server_pid else None
    window = Window(args.server_pid)
    window.start()
    await asyncio.gather(*(subscribe(p) for p in peers))
    subscribing = window.stop()
    await asyncio.sleep(args.settle)
    rss2 = procstat.rss_kib(args.server_pid) if args.server_pid else None
    subs = sum(p.synced for p in peers)
    presence_ws = stats.presence
    mux_members = subscribed(peers)
    ws_fanout = await mux_fanout(args, peers, [peers[r].ws for r in range(n_rooms)], room_ids, mux_members, stats, True)
    stats.closing = True
    t_close = now_ns()
    await close_all([p.ws for p in peers])
    await asyncio.wait(readers, timeout=10)
    ws_close_s = (now_ns() - t_close) / 1e9
    stats.closing = False
    readers.clear()
    ws_times = [p.took for p in peers if p.took]
    ws_errors = len(stats.errors)
    await asyncio.sleep(args.settle)

    # Per room: the same users and rooms, one socket per (user, room).
    rss3 = procstat.rss_kib(args.server_pid) if args.server_pid else None
    stats.presence = 0
    window = Window(args.server_pid)
    window.start()
    pairs = [(u, r) for u, rooms in enumerate(layout) for r in rooms]
    room_peers = list(await asyncio.gather(*(open_room(u, r) for u, r in pairs)))
    room_subscribing = window.stop()
    await asyncio.sleep(args.settle)
    rss4 = procstat.rss_kib(args.server_pid) if args.server_pid else None
    room_subs = sum(p.synced for p in room_peers)
    presence_room = stats.presence  # before the closes, whose leaves would count too
    senders_by_room = {p.sends: p.ws for p in room_peers if p.sends is not None}
    sender_ws = [senders_by_room[r] for r in range(n_rooms)]
    per_room_fanout = await mux_fanout(args, room_peers, sender_ws, room_ids, subscribed(room_peers), stats, False)
    stats.closing = True
    t_close = now_ns()
    ws_unclean = stats.unclean_closes
    await close_all([p.ws for p in room_peers])
    await asyncio.wait(readers, timeout=10)
    room_close_s = (now_ns() - t_close) / 1e9
    room_times = [p.took for p in room_peers if p.took]

    def kib(after: int | None, before: int | None, n: int) -> float | None:
        return round((after - before) / n, 2) if after is not None and before is not None and n else None

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    n_subs = args.users * args.rooms_per_user
    ws_sub_cpu = subscribing.server_per(subs, 1e6)
    room_sub_cpu = room_subscribing.server_per(room_subs, 1e6)
    return {
        "target": "service",
        "users": args.users,
        "rooms_per_user": args.rooms_per_user,
        "rooms": n_rooms,
        "members_per_room": [min(members), max(members)],
        "subscriptions": n_subs,
        "setup_s": round(setup_s, 1),
        "ws": {
            "sockets": len(peers),
            "rss_before_kib": rss0,
            "rss_connected_kib": rss1,
            "rss_subscribed_kib": rss2,
            "rss_per_socket_kib": kib(rss1, rss0, len(peers)),
            "rss_per_subscription_kib": kib(rss2, rss1, subs),
            "rss_per_subscription_incl_socket_kib": kib(rss2, rss0, subs),
            "connects_per_s": connected.per_s(len(peers)),
            "server_cpu_us_per_connect": connected.server_per(len(peers), 1e6),
            "subscribed": subs,
            "subscribe_failed": sum(p.failed for p in peers),
            "subscribe_concurrency": args.subscribe_concurrency,
            **{f"subscribe_{k}": v for k, v in percentiles_ms(ws_times).items()},
            "subscribe_wall_s": round(subscribing.wall_s, 3),
            "subscriptions_per_s": subscribing.per_s(subs),
            "server_cpu_us_per_subscription": ws_sub_cpu,
            "subscribe_gen_cpu_pct": subscribing.as_dict()["gen_cpu_pct"],
            "subscribe_others_server_core_pct": subscribing.others_server_core_pct,
            "presence_frames": presence_ws,
            "errors": ws_errors,
            "close_s": round(ws_close_s, 1),
            "unclean_closes": ws_unclean,
            "fanout": ws_fanout,
        },
        "per_room": {
            "sockets": len(room_peers),
            "rss_before_kib": rss3,
            "rss_subscribed_kib": rss4,
            "rss_per_subscription_kib": kib(rss4, rss3, room_subs),
            "subscribed": room_subs,
            "subscribe_failed": sum(p.failed for p in room_peers),
            **{f"connect_synced_{k}": v for k, v in percentiles_ms(room_times).items()},
            "subscribe_wall_s": round(room_subscribing.wall_s, 3),
            "subscriptions_per_s": room_subscribing.per_s(room_subs),
            "server_cpu_us_per_subscription": room_sub_cpu,
            "subscribe_gen_cpu_pct": room_subscribing.as_dict()["gen_cpu_pct"],
            "subscribe_others_server_core_pct": room_subscribing.others_server_core_pct,
            "presence_frames": presence_room,
            "close_s": round(room_close_s, 1),
            "unclean_closes": stats.unclean_closes - ws_unclean,
            "fanout": per_room_fanout,
        },
        "misrouted": stats.misrouted,
        "errors": len(stats.errors),
        "errors_sample": stats.errors[:3],
        "dropped_connections": stats.dropped,
        "ratio_ws_per_room": {
            "deliveries_per_s": ratio(ws_fanout["deliveries_per_s"], per_room_fanout["deliveries_per_s"]),
            "server_cpu_us_per_delivery": ratio(
                ws_fanout["server_cpu_us_per_delivery"], per_room_fanout["server_cpu_us_per_delivery"]
            ),
            "server_cpu_us_per_subscription": ratio(ws_sub_cpu, room_sub_cpu),
            # Sockets included: what one more (user, room) costs either way.
            "rss_per_subscription_incl_socket_kib": ratio(kib(rss2, rss0, subs), kib(rss4, rss3, room_subs)),
        },
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.set_defaults(users=1000)
    p.add_argument("--rooms-per-user", type=int, default=20)
    p.add_argument("--room-members", type=int, default=50, help="users per room (rooms = users x K / this)")
    p.add_argument(
        "--subscribe-concurrency",
        type=int,
        default=50,
        help="subscribe frames (or per-room connects) in progress at once",
    )
    p.add_argument("--inflight", type=int, default=2, help="unacknowledged messages per room's sender")
    p.add_argument("--duration", type=float, default=10, help="seconds of sending per fan-out")
    p.add_argument("--max-messages", type=int, default=1_000_000, help="per sender")
    p.add_argument("--drain-idle", type=float, default=3, help="stop waiting after this long without a delivery")
    p.add_argument("--drain-max", type=float, default=60)
    p.add_argument("--warmup", type=int, default=20, help="sockets opened, subscribed and closed first")
    p.add_argument("--settle", type=float, default=2.0, help="seconds before each RSS reading")
