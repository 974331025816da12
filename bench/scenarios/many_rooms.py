"""Many rooms: --rooms rooms of --room-sizes clients, one sender per room, on the
service; saturated, then at a fixed rate; with --mix a share of the messages are
replies and mentions (bench/load/mix.py). On PostgreSQL the storage reference runs
before and after the service's rows: plain asyncpg storing batches on the
service's schema (bench/load/storage.py), pinned to the server's core like the
service."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import CHAT_SERVICE, asyncpg_url, broadcast, client, fixed_rate, fresh_database, server, service_env
from report import BROADCAST_COLUMNS, good, ratio, row_warnings, table

NAME = "many-rooms"
ROWS = True
REFERENCE = "asyncpg_batched_insert"


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    # Before and after the service's rows: PostgreSQL's own state (checkpoints after
    # the service's writes) moves the reference by up to 2x between runs.
    references = [storage_reference(args)] if args.database == "postgresql" else []
    for size in args.room_sizes:
        with server("service", args, CHAT_HISTORY_ON_CONNECT="0") as srv:
            members = args.rooms_members
            sat = broadcast(args, srv, args.rooms, size, "saturated", args.rooms_inflight, 0, members, mix=args.mix)
            if args.rooms_saturated_only:
                fixed = None
            else:
                time.sleep(args.settle)
                rate = fixed_rate(args, args.rooms_rate, sat)
                fixed = broadcast(args, srv, args.rooms, size, "rate", 0, rate, members, mix=args.mix)
        for row in (sat, fixed):
            if row is not None:
                label = f"{args.rooms}x{size}{' members' if members else ''}{' mix' if args.mix else ''}"
                rows.append({"scenario": NAME, "size": label, **row})
    if references:
        references.append(storage_reference(args))
        failed = next((r for r in references if "error" in r), None)
        runs = [r["stored_per_s"] for r in references if "error" not in r]
        reference = failed or {
            **references[-1],
            "stored_per_s": round(sum(runs) / len(runs), 1),
            "stored_per_s_runs": runs,
        }
        rows.append({"scenario": NAME, "size": f"{args.rooms} rooms", **reference})
    return rows


def storage_reference(args: argparse.Namespace) -> dict[str, Any]:
    """What plain asyncpg stores per second in the writer's way, on a fresh database
    of the service's schema (PostgreSQL only)."""
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="bench-storage-", dir=args.db_dir))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        database_url = stack.enter_context(fresh_database(args, workdir))
        env = service_env(args, database_url)
        subprocess.run([CHAT_SERVICE, "db", "upgrade"], cwd=workdir, env=env, check=True, capture_output=True)
        options: list[object] = ["--database-url", asyncpg_url(database_url), "--duration", args.duration]
        options += ["--rooms", args.rooms, "--body-size", args.body_size]
        return {"target": REFERENCE, **client(args, "storage", options, core=args.server_core)}


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The service's stored msg/s against the storage reference's, same run."""
    many = good(rows)
    reference = next((r for r in many if r["target"] == REFERENCE), None)
    if reference is None:
        return []
    return [
        {
            "what": f"many-rooms {r['size']} saturated",
            "metric": "stored msgs/s",
            "service": r["stored_per_s"],
            REFERENCE: ratio(r["stored_per_s"], reference["stored_per_s"]),
        }
        for r in many
        if r["target"] == "service" and r.get("mode") == "saturated"
    ]


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    return ["### Many rooms", table(good(rows), BROADCAST_COLUMNS)] if good(rows) else []


def warnings(rows: list[dict[str, Any]]) -> list[str]:
    return row_warnings(NAME, rows)
