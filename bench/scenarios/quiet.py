"""Quiet: many rooms open and nothing sent (bench/load/quiet.py): the server's CPU
at rest with --quiet-rooms rooms open on per-room sockets and on /ws, against as
many idle sockets on the bare FastAPI app; and what a room's first socket costs
against a socket of a room already open."""

from __future__ import annotations

import argparse
from typing import Any

from harness import loadgen, server
from report import failed, table

NAME = "quiet"
ROWS = False


def run(args: argparse.Namespace) -> dict[str, Any]:
    with server("service", args, CHAT_HISTORY_ON_CONNECT="0") as srv, server("bare_fastapi", args) as bare:
        options: list[object] = ["--reference-port", bare.port, "--reference-pid", bare.pid]
        options += ["--rooms", args.quiet_rooms, "--per-room-rooms", args.quiet_per_room_rooms]
        options += ["--second-sockets", args.quiet_second, "--window", args.quiet_window]
        return {"scenario": NAME, "target": "service", **loadgen(args, "quiet", srv, options)}


def markdown(quiet: dict[str, Any]) -> list[str]:
    first, second, mux = quiet["first_sockets"], quiet["second_sockets"], quiet["mux_subscribe"]
    connects = [
        {"what": "per-room socket, the room's first here (opens its feed)", **first},
        {"what": "per-room socket, room already open", **second},
        {
            "what": "/ws subscription, the room's first here",
            **mux,
            "server_cpu_us_per_connect": mux["server_cpu_us_per_subscription"],
        },
    ]
    return [
        f"### Open rooms at rest ({quiet['rooms']:,} rooms)",
        table(
            quiet["idle"],
            [
                ("what", "open"),
                ("sockets", "sockets"),
                ("window_s", "window s"),
                ("server_cpu_pct", "srv CPU % of a core"),
                ("rss_kib", "srv RSS KiB"),
                ("others_server_core_pct", "others on srv core %"),
            ],
        ),
        table(
            connects,
            [
                ("what", "connect"),
                ("sockets", "sockets"),
                ("failed", "failed"),
                ("wall_s", "wall s"),
                ("server_cpu_us_per_connect", "srv CPU µs each"),
                ("others_server_core_pct", "others on srv core %"),
            ],
        ),
    ]


def warnings(quiet: dict[str, Any]) -> list[str]:
    return failed(NAME, quiet)
