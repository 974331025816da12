"""Entries: the server's CPU per stream entry of each kind over REST, messages
against reactions added and removed, in one run on one server (--entries,
--entries-concurrency)."""

from __future__ import annotations

import argparse
from typing import Any

from harness import loadgen, server
from report import failed, noisy, table

NAME = "entries"
ROWS = False
KINDS = (("message", "messages"), ("reaction_add", "reactions added"), ("reaction_remove", "reactions removed"))


def run(args: argparse.Namespace) -> dict[str, Any]:
    with server("service", args) as srv:
        options = ["--entries", args.entries, "--concurrency", args.entries_concurrency]
        return {"scenario": NAME, **loadgen(args, "entries", srv, options)}


def markdown(r: dict[str, Any]) -> list[str]:
    rows = [{"kind": label, **r[key]} for key, label in KINDS if key in r]
    columns = [
        ("kind", "entry"),
        ("ok", "stored"),
        ("per_s", "entries/s"),
        ("p50_ms", "p50 ms"),
        ("p99_ms", "p99 ms"),
        ("server_cpu_us_per_entry", "srv CPU µs/entry"),
        ("others_server_core_pct", "others on srv core %"),
        ("statuses", "statuses"),
    ]
    head = f"### Entries over REST ({r.get('concurrency')} in flight)"
    added, removed = r.get("add_per_message"), r.get("remove_per_message")
    ratios = f"CPU per entry ÷ a message's: reaction added {added}, removed {removed}"
    return [head, table(rows, columns), ratios]


def warnings(r: dict[str, Any]) -> list[str]:
    if "error" in r:
        return failed(NAME, r)
    found: list[str] = []
    for key, _ in KINDS:
        step = r.get(key) or {}
        found += noisy(f"{NAME} {key}", step)
        if set(step.get("statuses", {})) - {"201", "204"}:
            found.append(f"{NAME} {key}: statuses={step.get('statuses')}")
    return found
