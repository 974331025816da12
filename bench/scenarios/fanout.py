"""Fan-out: one room of --fanout-sizes clients on every target, client 0 sending;
saturated, then at a fixed rate (the service's saturated rate × --rate-fraction,
the same for every target). A reference that saturates below that rate has no
rate row, only a row saying so: at a rate it cannot hold, the row would measure
its growing backlog, for up to a minute of the run."""

from __future__ import annotations

import argparse
import time
from typing import Any

from harness import REFERENCES, TARGETS, broadcast, fixed_rate, server
from report import BROADCAST_COLUMNS, good, ratio, row_warnings, table

NAME = "fanout"
ROWS = True  # a list of rows, one per target, size and mode
NOT_HELD = "rate: above its saturated rate, not run"


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for size in args.fanout_sizes:
        rate: float | None = args.fanout_rate
        for target in [t for t in TARGETS if t in args.targets]:  # the service first: it sets the rate
            with server(target, args, CHAT_HISTORY_ON_CONNECT="0") as srv:
                sat = broadcast(args, srv, 1, size, "saturated", args.fanout_inflight, 0)
                if rate is None:
                    rate = fixed_rate(args, None, sat)
                if target != "service" and (sat.get("msgs_per_s") or 0) < rate:
                    fixed = {"target": target, "mode": NOT_HELD, "rate_target": rate}
                else:
                    time.sleep(args.settle)
                    fixed = broadcast(args, srv, 1, size, "rate", 0, rate)
            for row in (sat, fixed):
                rows.append({"scenario": NAME, "size": f"1x{size}", **row})
    return rows


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The service against each reference, same size and mode, same run."""
    out = []
    fanout = good(rows)
    for size in dict.fromkeys(r["size"] for r in fanout):
        for mode in ("saturated", "rate"):
            by_target = {r["target"]: r for r in fanout if r["size"] == size and r["mode"] == mode}
            service = by_target.get("service")
            if service is None:
                continue
            metrics = ["server_cpu_us_per_delivery"] + (["deliveries_per_s"] if mode == "saturated" else ["p99_ms"])
            for metric in metrics:
                row: dict[str, Any] = {"what": f"fanout {size} {mode}", "metric": metric, "service": service[metric]}
                for ref in REFERENCES:
                    row[ref] = ratio(service[metric], by_target.get(ref, {}).get(metric))
                out.append(row)
    return out


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    return ["### Fan-out (one room)", table(good(rows), BROADCAST_COLUMNS)] if good(rows) else []


def warnings(rows: list[dict[str, Any]]) -> list[str]:
    return row_warnings(NAME, rows)
