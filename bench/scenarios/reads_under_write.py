"""Reads under write: one user's connect, history page and room list (bench/load/
read_probe.py), timed one at a time on an idle server, then while many-rooms
(--rooms rooms of 2) keeps the writer saturated; and the writer's stored msg/s
alone against with the reads beside it. On SQLite the reads run as WAL readers on
their own connections, so a read waits for the server's loop, never for the
writer's transaction; a reader that took the write lock would stall the writer
instead (docs/architecture.md). Default configuration."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness import broadcast, client, server
from load.read_probe import KINDS, summary
from report import good, ratio, row_warnings, table

NAME = "reads-under-write"
ROWS = True
SKIP_S = 1.0  # at most the sending window's first second (a quarter of it): the load ramping up
PROBE_MESSAGES = 1000  # in the probed room: a replay of 50 and a page of 50 find them


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-reads-", dir=args.db_dir))
    try:
        with server("service", args) as srv:
            probe: list[object] = ["--port", srv.port, "--messages", PROBE_MESSAGES]
            idle = client(args, "read-probe", [*probe, "--duration", args.duration])
            if "error" in idle:
                return [{"scenario": NAME, "target": "service", "what": "idle", **idle}]
            alone = broadcast(args, srv, args.rooms, 2, "saturated", args.rooms_inflight, 0)
            until, ready = workdir / "stop", workdir / "ready"
            with ThreadPoolExecutor(1) as pool:
                beside = pool.submit(client, args, "read-probe", [*probe, "--until-file", until, "--ready-file", ready])
                while not ready.exists() and not beside.done():
                    time.sleep(0.05)
                loaded = broadcast(args, srv, args.rooms, 2, "saturated", args.rooms_inflight, 0)
                until.touch()
                sampled = beside.result()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for failed in (alone, loaded, sampled):
        if "error" in failed:
            return [{"scenario": NAME, "target": "service", "what": "under write", **failed}]
    start, end = loaded["sending_unix"]
    skip = min(SKIP_S, (end - start) / 4)
    kept = [s for s in sampled["samples"] if start + skip <= s[0] <= end]
    under = summary([(u, kind, ns) for u, kind, ns in kept])
    for kind in KINDS:
        before, during = idle.get(kind) or {}, under.get(kind) or {}
        rows.append(
            {
                "scenario": NAME,
                "target": "service",
                "what": kind,
                "idle_n": before.get("n"),
                "idle_p50_ms": before.get("p50_ms"),
                "idle_p99_ms": before.get("p99_ms"),
                "under_n": during.get("n"),
                "under_p50_ms": during.get("p50_ms"),
                "under_p99_ms": during.get("p99_ms"),
                "p50_ratio": ratio(during.get("p50_ms"), before.get("p50_ms")),
            }
        )
    rows.append(
        {
            "scenario": NAME,
            "target": "service",
            "what": "writer stored msg/s",
            "alone": alone.get("stored_per_s"),
            "with_reads": loaded.get("stored_per_s"),
            "p50_ratio": ratio(loaded.get("stored_per_s"), alone.get("stored_per_s")),
            "lost": (alone.get("lost") or 0) + (loaded.get("lost") or 0),
            "duplicated": (alone.get("duplicated") or 0) + (loaded.get("duplicated") or 0),
            "others_server_core_pct": loaded.get("others_server_core_pct"),
        }
    )
    return rows


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    reads = [r for r in good(rows) if r["what"] in KINDS]
    writer = [r for r in good(rows) if r["what"] not in KINDS]
    if not reads:
        return []
    return [
        "### Reads while the writer is saturated (one at a time; wall ms from the client)",
        table(
            reads,
            [
                ("what", "read"),
                ("idle_p50_ms", "idle p50"),
                ("idle_p99_ms", "idle p99"),
                ("under_p50_ms", "under write p50"),
                ("under_p99_ms", "under write p99"),
                ("p50_ratio", "p50 under ÷ idle"),
                ("under_n", "samples"),
            ],
        ),
        table(
            writer,
            [
                ("what", ""),
                ("alone", "alone"),
                ("with_reads", "with the reads"),
                ("p50_ratio", "ratio"),
                ("others_server_core_pct", "others on srv core % (with the reads)"),
            ],
        ),
    ]


def warnings(rows: list[dict[str, Any]]) -> list[str]:
    found = row_warnings(NAME, rows)
    for row in good(rows):
        if row["what"] in KINDS and not row.get("under_n"):
            found.append(f"{NAME} {row['what']}: no sample inside the writer's window")
    return found
