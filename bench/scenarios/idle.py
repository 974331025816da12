"""Idle: --idle-connections sockets opened after a warm-up on the service, bare
FastAPI and raw websockets; the server's RSS per socket and CPU per connect."""

from __future__ import annotations

import argparse
from typing import Any

from harness import REFERENCES, loadgen, server
from report import good, ratio, row_warnings, table

NAME = "idle"
ROWS = True
TARGETS = ("service", "bare_fastapi", "raw_ws")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for target in [t for t in TARGETS if t in args.targets]:
        with server(target, args) as srv:
            options = ["--target", target, "--connections", args.idle_connections, "--settle", args.settle]
            rows.append({"scenario": NAME, **loadgen(args, "idle", srv, options)})
    return rows


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    idle = {r["target"]: r for r in good(rows)}
    if "service" not in idle:
        return []
    row = {"what": "idle", "metric": "rss_per_conn_kib", "service": idle["service"]["rss_per_conn_kib"]}
    for ref in REFERENCES:
        row[ref] = ratio(idle["service"]["rss_per_conn_kib"], idle.get(ref, {}).get("rss_per_conn_kib"))
    return [row]


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    if not good(rows):
        return []
    columns = [
        ("target", "server"),
        ("connections", "connections"),
        ("rss_before_kib", "RSS before KiB"),
        ("rss_after_kib", "RSS after KiB"),
        ("rss_per_conn_kib", "KiB/connection"),
        ("connects_per_s", "connects/s"),
        ("server_cpu_us_per_connect", "srv CPU µs/connect"),
        ("others_server_core_pct", "others on srv core %"),
        ("failed", "failed"),
    ]
    return ["### Idle connections", table(good(rows), columns)]


def warnings(rows: list[dict[str, Any]]) -> list[str]:
    return row_warnings(NAME, rows)
