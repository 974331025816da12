"""Mux: many rooms on one /ws socket per user against one socket per (user, room):
--mux-users users × --mux-rooms-per-user rooms of --mux-room-members, memory and CPU
per socket and per subscription, the subscribe storm, and a saturated fan-out in
each phase (bench/README.md, "mux")."""

from __future__ import annotations

import argparse
from typing import Any

from harness import loadgen, server
from report import CLIENT_BOUND_PCT, NOISY_PCT, failed, fmt, noisy, table

NAME = "mux"
ROWS = False


def run(args: argparse.Namespace) -> dict[str, Any]:
    with server(
        "service",
        args,
        CHAT_HISTORY_ON_CONNECT="0",
        CHAT_MAX_ROOMS_PER_SOCKET=str(max(500, args.mux_rooms_per_user)),
        # Registering and logging in 1,000 users takes a minute (argon2): tokens must outlive the run.
        CHAT_ACCESS_TOKEN_MINUTES="120",
    ) as srv:
        options = ["--users", args.mux_users, "--rooms-per-user", args.mux_rooms_per_user]
        options += ["--room-members", args.mux_room_members, "--subscribe-concurrency", args.mux_subscribe_concurrency]
        options += ["--inflight", args.mux_inflight, "--duration", args.duration, "--drain-idle", args.drain_idle]
        options += ["--body-size", args.body_size, "--settle", args.settle]
        return {"scenario": NAME, **loadgen(args, "mux", srv, options)}


def markdown(mux: dict[str, Any]) -> list[str]:
    ws, room = mux["ws"], mux["per_room"]
    ratios = mux["ratio_ws_per_room"]
    lo, hi = mux["members_per_room"]
    head = (
        f"{mux['users']} users × {mux['rooms_per_user']} rooms ({mux['rooms']} rooms of {lo}–{hi} users, "
        f"{mux['subscriptions']:,} subscriptions); subscribe concurrency {ws['subscribe_concurrency']}; "
        f"fan-out: one sender per room, {ws['fanout']['inflight']} in flight each, saturated"
    )
    rows = [
        ("sockets", ws["sockets"], room["sockets"], None),
        ("server RSS KiB per socket, idle (after hello)", ws["rss_per_socket_kib"], None, None),
        ("server RSS KiB per subscription (socket excluded)", ws["rss_per_subscription_kib"], None, None),
        (
            "server RSS KiB per subscription, sockets included",
            ws["rss_per_subscription_incl_socket_kib"],
            room["rss_per_subscription_kib"],
            ratios["rss_per_subscription_incl_socket_kib"],
        ),
        ("server CPU µs per /ws connect (to hello)", ws["server_cpu_us_per_connect"], None, None),
        (
            "subscribe p50 ms (/ws: subscribe→last synced; per room: connect→synced)",
            ws["subscribe_p50_ms"],
            room["connect_synced_p50_ms"],
            None,
        ),
        ("subscribe p99 ms", ws["subscribe_p99_ms"], room["connect_synced_p99_ms"], None),
        ("subscriptions/s", ws["subscriptions_per_s"], room["subscriptions_per_s"], None),
        (
            "server CPU µs per subscription",
            ws["server_cpu_us_per_subscription"],
            room["server_cpu_us_per_subscription"],
            ratios["server_cpu_us_per_subscription"],
        ),
        ("fan-out sent msg/s", ws["fanout"]["msgs_per_s"], room["fanout"]["msgs_per_s"], None),
        (
            "fan-out deliveries/s",
            ws["fanout"]["deliveries_per_s"],
            room["fanout"]["deliveries_per_s"],
            ratios["deliveries_per_s"],
        ),
        (
            "fan-out server CPU µs/delivery",
            ws["fanout"]["server_cpu_us_per_delivery"],
            room["fanout"]["server_cpu_us_per_delivery"],
            ratios["server_cpu_us_per_delivery"],
        ),
        (
            "fan-out generator CPU µs/delivery",
            ws["fanout"]["gen_cpu_us_per_delivery"],
            room["fanout"]["gen_cpu_us_per_delivery"],
            None,
        ),
        (
            "fan-out p50 / p99 ms",
            f"{fmt(ws['fanout']['p50_ms'])} / {fmt(ws['fanout']['p99_ms'])}",
            f"{fmt(room['fanout']['p50_ms'])} / {fmt(room['fanout']['p99_ms'])}",
            None,
        ),
        (
            "fan-out srv CPU % / gen CPU %",
            f"{fmt(ws['fanout']['server_cpu_pct'])} / {fmt(ws['fanout']['gen_cpu_pct'])}",
            f"{fmt(room['fanout']['server_cpu_pct'])} / {fmt(room['fanout']['gen_cpu_pct'])}",
            None,
        ),
        (
            "fan-out others on srv core %",
            ws["fanout"]["others_server_core_pct"],
            room["fanout"]["others_server_core_pct"],
            None,
        ),
        (
            "fan-out lost / dup",
            f"{ws['fanout']['lost']} / {ws['fanout']['duplicated']}",
            f"{room['fanout']['lost']} / {room['fanout']['duplicated']}",
            None,
        ),
        (
            "closing all sockets: s / unclean (server did not finish the close in 2 s)",
            f"{fmt(ws.get('close_s'))} / {fmt(ws.get('unclean_closes'))}",
            f"{fmt(room.get('close_s'))} / {fmt(room.get('unclean_closes'))}",
            None,
        ),
    ]
    columns = [("what", "measure"), ("ws", "/ws"), ("room", "/ws/rooms/{id}"), ("ratio", "/ws ÷ per-room")]
    return [
        "### Many rooms on one socket (/ws) vs one socket per room",
        head,
        table([dict(zip(("what", "ws", "room", "ratio"), row, strict=True)) for row in rows], columns),
    ]


def warnings(mux: dict[str, Any]) -> list[str]:
    if "error" in mux:
        return failed(NAME, mux)
    found = []
    for field in ("misrouted", "errors", "dropped_connections"):
        if mux.get(field):
            found.append(f"mux: {field} = {mux[field]} (e.g. {mux.get('errors_sample')})")
    for endpoint in ("ws", "per_room"):
        part = mux[endpoint]
        if part.get("subscribe_failed"):
            found.append(f"mux {endpoint}: {part['subscribe_failed']} subscriptions failed")
        if (part.get("subscribe_others_server_core_pct") or 0) > NOISY_PCT:
            found.append(
                f"mux {endpoint} subscribe: other processes took "
                f"{part['subscribe_others_server_core_pct']}% of the server core: noisy"
            )
        fan = part["fanout"]
        label = f"mux {endpoint} fan-out"
        for field in ("lost", "duplicated"):
            if fan.get(field):
                found.append(f"{label}: {field} = {fan[field]}")
        if (fan.get("gen_cpu_pct") or 0) > CLIENT_BOUND_PCT:
            found.append(f"{label}: generator at {fan['gen_cpu_pct']}% CPU: client-bound, the server may do more")
        found += noisy(label, fan)
    return found
