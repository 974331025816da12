"""Replay: a room filled with --replay-missed messages, then --replay-clients
reconnect at once with `since` the seq before them."""

from __future__ import annotations

import argparse
from typing import Any

from harness import loadgen, server
from report import failed, noisy, table

NAME = "replay"
ROWS = False


def run(args: argparse.Namespace) -> dict[str, Any]:
    with server("service", args, CHAT_MAX_REPLAY=str(max(1000, args.replay_missed))) as srv:
        options = ["--clients", args.replay_clients, "--missed", args.replay_missed, "--body-size", args.body_size]
        return {"scenario": NAME, **loadgen(args, "replay", srv, options)}


def markdown(replay: dict[str, Any]) -> list[str]:
    columns = [
        ("clients", "clients"),
        ("missed", "missed msgs"),
        ("synced_p50_ms", "connect→synced p50 ms"),
        ("synced_p99_ms", "p99 ms"),
        ("synced_max_ms", "max ms"),
        ("wall_s", "storm s"),
        ("replayed_msgs_per_s", "replayed msg/s"),
        ("server_cpu_ms_per_replay", "srv CPU ms/replay"),
        ("server_cpu_us_per_replayed_msg", "srv CPU µs/msg"),
        ("lost", "lost"),
        ("duplicated", "dup"),
        ("truncated", "truncated"),
    ]
    return ["### Replay (reconnect with since)", table([replay], columns)]


def warnings(r: dict[str, Any]) -> list[str]:
    if "error" in r:
        return failed(NAME, r)
    found = noisy(NAME, r)
    if r.get("lost") or r.get("duplicated") or r.get("errors") or r.get("truncated"):
        found.append(f"{NAME}: lost={r.get('lost')} dup={r.get('duplicated')} errors={r.get('errors')}")
    return found
