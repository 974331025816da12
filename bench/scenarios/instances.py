"""The multi-instance scenario (`bench/run.py --scenarios instances`): 1, 2 and 4
instances of the service on one PostgreSQL database and one Redis, behind no
balancer but the generator, which spreads every room's clients over all of them
(room r's client k talks to instance (r + k) mod n), so every message is stored
by one instance and delivered by every instance through Redis.

For each count: the saturated rate, then a fixed total rate (the same for every
count: --rate-fraction x the one-instance saturated rate, or --instances-rate),
with each instance's CPU read separately. All instances share the server core, so
the figures are CPU per message, not throughput per machine."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from harness import broadcast, cluster, fixed_rate, side_processes
from report import row_warnings, table

NAME = "instances"
ROWS = True


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.database != "postgresql" or not args.redis_url:
        print("  instances: skipped, it needs --database postgresql and --redis-url", file=sys.stderr)
        return []
    rows = []
    rate: float | None = args.instances_rate
    size = args.instances_room_size
    side = side_processes()
    for n in args.instance_counts:
        with cluster(args, n, CHAT_HISTORY_ON_CONNECT="0") as servers:
            first, more = servers[0], servers[1:]
            sat = broadcast(args, first, args.rooms, size, "saturated", args.rooms_inflight, 0, more=more, side=side)
            if rate is None:
                rate = fixed_rate(args, None, sat)
            time.sleep(args.settle)
            fixed = broadcast(args, first, args.rooms, size, "rate", 0, rate, more=more, side=side)
        for row in (sat, fixed):
            rows.append({"scenario": NAME, "size": f"{args.rooms}x{size}", "instances": n, **per_instance(row)})
    return rows


def per_instance(row: dict[str, Any]) -> dict[str, Any]:
    """Each instance's CPU per message of the whole cluster, and the busiest one's."""
    each, sent = row.get("server_cpu_each_s") or [row.get("server_cpu_s")], row.get("sent")
    if not sent or None in each:
        return row
    per = [round(cpu * 1e6 / sent, 2) for cpu in each]
    side = {
        f"{name}_cpu_us_per_message": round(cpu * 1e6 / sent, 2) for name, cpu in (row.get("side_cpu_s") or {}).items()
    }
    return {**row, **side, "instance_cpu_us_per_message": per, "busiest_instance_cpu_us_per_message": max(per)}


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    good = [r for r in rows if "error" not in r]
    if not good:
        return []
    one = {r["mode"]: r for r in good if r["instances"] == 1}
    for r in good:
        base = one.get(r["mode"], {}).get("busiest_instance_cpu_us_per_message")
        busiest = r.get("busiest_instance_cpu_us_per_message")
        r["busiest_vs_one"] = round(busiest / base, 2) if base and busiest else None
        total, base_total = r.get("server_cpu_us_per_message"), one.get(r["mode"], {}).get("server_cpu_us_per_message")
        r["total_vs_one"] = round(total / base_total, 2) if total and base_total else None
    columns = [
        ("instances", "instances"),
        ("size", "rooms x clients"),
        ("mode", "mode"),
        ("msgs_per_s", "msgs/s"),
        ("deliveries_per_s", "deliveries/s"),
        ("p50_ms", "p50 ms"),
        ("p99_ms", "p99 ms"),
        ("server_cpu_us_per_message", "all instances µs/msg"),
        ("total_vs_one", "÷ 1 instance"),
        ("instance_cpu_us_per_message", "each instance µs/msg"),
        ("busiest_vs_one", "busiest ÷ 1 instance"),
        ("postgresql_cpu_us_per_message", "PostgreSQL µs/msg"),
        ("redis_cpu_us_per_message", "Redis µs/msg"),
        ("others_server_core_pct", "others on srv core %"),
        ("lost", "lost"),
        ("duplicated", "dup"),
        ("seq_errors", "seq err"),
    ]
    return [
        "### Instances on one PostgreSQL and Redis (all on the server core)",
        table(good, columns),
    ]


def warnings(rows: list[dict[str, Any]]) -> list[str]:
    return row_warnings(NAME, rows)
