"""Connect: the server's CPU per socket connect in the default configuration
(the newest CHAT_HISTORY_ON_CONNECT messages replayed to each socket opened without
`since`), against the same connects with CHAT_HISTORY_ON_CONNECT=0, two servers of
each in the same run (bench/load/connect.py says which rows)."""

from __future__ import annotations

import argparse
from typing import Any

from harness import loadgen, server
from report import good, ratio, row_warnings, table

NAME = "connect"
ROWS = True
# The default per-room connect may cost at most this much more than one without history.
DEFAULT_RATIO_MAX = 1.25
# A new room's first socket, in server CPU.
NEW_ROOM_US_MAX = 1500
CONFIGS = (("default", {}), ("history off", {"CHAT_HISTORY_ON_CONNECT": "0"}))
# Each configuration twice, in the order A B B A: a machine growing busier or
# quieter during the run weighs on both alike.
ORDER = (*CONFIGS, *reversed(CONFIGS))
# Averaged over a configuration's two servers.
AVERAGED = (
    "server_cpu_us_per_connect",
    "join_us_per_connect",
    "join_us_per_delivery",
    "synced_p50_ms",
    "synced_p99_ms",
    "others_server_core_pct",
)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    options = ["--connects", args.connect_count, "--new-rooms", args.connect_new_rooms]
    options += ["--distinct-users", args.connect_users, "--messages", args.connect_messages]
    options += ["--users", args.users, "--body-size", args.body_size]
    for turn, (config, env) in enumerate(ORDER):
        with server("service", args, **env) as srv:
            result = loadgen(args, "connect", srv, options)
        if "error" in result:
            rows.append({"config": config, "turn": turn, **result})
            continue
        for row in result["rows"]:
            size = f"{row['what']}, {row['messages']} msgs, {row['concurrency']} at a time"
            rows.append({"config": config, "turn": turn, "target": "service", "size": size, "mode": config, **row})
    return rows


def _key(row: dict[str, Any]) -> tuple[str, int, int]:
    return row["what"], row["messages"], row["concurrency"]


def _mean(values: list[Any]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 2) if known else None


def compared(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per connect measured: default, history off (each the mean of its
    servers), their ratio."""
    by: dict[tuple[str, int, int], dict[str, list[dict[str, Any]]]] = {}
    for row in good(rows):
        by.setdefault(_key(row), {}).setdefault(row["config"], []).append(row)
    lines = []
    for configs in by.values():
        default, off = configs.get("default", []), configs.get("history off", [])
        if not default:
            continue
        line = {**default[0], **{field: _mean([r.get(field) for r in default]) for field in AVERAGED}}
        line["off_us"] = _mean([r.get("server_cpu_us_per_connect") for r in off])
        line["ratio"] = ratio(line["server_cpu_us_per_connect"], line["off_us"])
        lines.append(line)
    return lines


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "what": f"connect {line['what']}, {line['messages']} msgs, {line['concurrency']} at a time",
            "metric": "srv CPU µs/connect, ÷ history off",
            "service": line["server_cpu_us_per_connect"],
            "history_off": line["ratio"],
        }
        for line in compared(rows)
    ]


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    if not good(rows):
        return []
    columns = [
        ("what", "connect"),
        ("messages", "msgs in room"),
        ("concurrency", "at a time"),
        ("connects", "connects"),
        ("server_cpu_us_per_connect", "default srv CPU µs/connect"),
        ("off_us", "history off µs"),
        ("ratio", "default ÷ off"),
        ("join_us_per_connect", "of which presence join µs"),
        ("join_us_per_delivery", "µs per join delivered"),
        ("synced_p50_ms", "default connect→synced p50 ms"),
        ("synced_p99_ms", "p99 ms"),
        ("others_server_core_pct", "others on srv core %"),
    ]
    return [
        f"### Connect (target: default ÷ history off ≤ {DEFAULT_RATIO_MAX}; a new room's first ≤ {NEW_ROOM_US_MAX} µs)",
        table(compared(rows), columns),
    ]


def warnings(rows: list[dict[str, Any]]) -> list[str]:
    found = row_warnings(NAME, rows)
    for line in compared(rows):
        label = f"{NAME} {line['size']}"
        if line["what"] == "per-room" and line["ratio"] is not None and line["ratio"] > DEFAULT_RATIO_MAX:
            found.append(f"{label}: default ÷ history off {line['ratio']} > {DEFAULT_RATIO_MAX}")
        cpu = line["server_cpu_us_per_connect"]
        if line["what"] == "new room's first" and cpu is not None and cpu > NEW_ROOM_US_MAX:
            found.append(f"{label}: {cpu} µs of server CPU > {NEW_ROOM_US_MAX}")
    return found
