"""Unread: one user in --unread-rooms rooms with --unread-messages unread over
about 400,000 message rows; GET /api/v1/users/me/rooms checked, then timed
(bench/load/unread_fill.py, unread_measure.py). On PostgreSQL twice: as filled
and analyzed, then after VACUUM."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import client, server
from report import failed, noisy, table

NAME = "unread"
ROWS = False
TARGET_MS = 50  # GET /users/me/rooms, 200 rooms, 50,000 unread: server time p95


def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"scenario": NAME, "target": "service", "database": args.database}
    with server("service", args) as srv:
        assert srv.database_url is not None
        manifest = Path(tempfile.mkdtemp(prefix="bench-unread-", dir=args.db_dir)) / "manifest.json"
        try:
            options: list[object] = ["--port", srv.port, "--database-url", srv.database_url, "--manifest", manifest]
            options += ["--rooms", args.unread_rooms, "--unread", args.unread_messages]
            options += ["--history", args.unread_history, "--other-rows", args.unread_other_rows]
            out["fill"] = client(args, "unread-fill", options)
            if "error" in out["fill"]:
                out["error"] = out["fill"]["error"]
                return out
            measure: list[object] = ["--port", srv.port, "--server-pid", srv.pid, "--manifest", manifest]
            measure += ["--database-url", srv.database_url, "--requests", args.unread_requests]
            measure += ["--query-runs", args.unread_query_runs]
            # PostgreSQL: first as filled and analyzed (the newest rows not yet all-visible, as
            # between two autovacuums), then after VACUUM (index-only scans skip the heap).
            phases = ["analyzed", "vacuumed"] if args.database == "postgresql" else ["as filled"]
            out["phases"] = []
            for phase in phases:
                if phase == "vacuumed":
                    out["vacuum"] = asyncio.run(vacuum(srv.database_url))
                out["phases"].append(client(args, "unread-measure", [*measure, "--phase", phase]))
        finally:
            shutil.rmtree(manifest.parent, ignore_errors=True)
    return out


async def vacuum(database_url: str) -> dict[str, Any]:
    """VACUUM ANALYZE messages, through the service's own engine."""
    from sqlalchemy import text

    from service.db import create_engine

    engine = create_engine(database_url)
    t = time.perf_counter()
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE messages"))
    await engine.dispose()
    return {"vacuum_s": round(time.perf_counter() - t, 1)}


def markdown(unread: dict[str, Any]) -> list[str]:
    filled = unread["fill"]
    above = filled["above_markers"]
    head = (
        f"One user in {filled['rooms']} rooms with {filled['unread_total']:,} unread in all "
        f"({filled['rooms_with_unread']} rooms with some, at most {filled['max_unread_in_a_room']:,} in one; "
        f"above the markers also {above['deleted_messages']:,} deleted messages, {above['edit_events']:,} edit and "
        f"{above['delete_events']:,} delete events); {filled['message_rows']:,} message rows in "
        f"{filled['rooms'] + filled['other_rooms']} rooms. Sequential GET /api/v1/users/me/rooms over one "
        "keep-alive connection, reader / caught-up user / GET /healthz interleaved; wall time at the client; "
        "CPU per request of the service's threads and of the PostgreSQL backends serving it (/proc schedstat); "
        "my_rooms() timed in the generator's process, as is and with the count replaced by a column."
    )
    rows = []
    for phase in unread["phases"]:
        if "error" in phase:
            continue
        query = phase.get("query_in_process") or {}
        rows.append(
            {
                "database": unread["database"],
                "phase": phase["phase"],
                "unread": phase["unread_total"],
                "reader_p50": phase["reader"]["p50_ms"],
                "reader_p95": phase["reader"]["p95_ms"],
                "reader_cpu": phase["reader"]["server_cpu_p50_ms"],
                "reader_cpu95": phase["reader"]["server_cpu_p95_ms"],
                "reader_db_cpu": phase["reader"].get("db_cpu_p50_ms"),
                "caught_cpu": phase["caught_up"]["server_cpu_p50_ms"],
                "caught_p50": phase["caught_up"]["p50_ms"],
                "caught_p95": phase["caught_up"]["p95_ms"],
                "healthz_p50": phase["healthz"]["p50_ms"],
                "query_p50": (query.get("my_rooms") or {}).get("p50_ms"),
                "no_count_p50": (query.get("my_rooms_without_count") or {}).get("p50_ms"),
                "count_p50": query.get("count_p50_ms"),
                "others": phase["others_server_core_pct"],
            }
        )
    columns = [
        ("database", "database"),
        ("phase", "phase"),
        ("unread", "unread total (checked)"),
        ("reader_p50", "reader p50 ms"),
        ("reader_p95", "reader p95 ms"),
        ("reader_cpu", "reader srv CPU p50 ms"),
        ("reader_cpu95", "reader srv CPU p95 ms"),
        ("reader_db_cpu", "reader PostgreSQL CPU p50 ms"),
        ("caught_p50", "caught-up p50 ms"),
        ("caught_p95", "caught-up p95 ms"),
        ("caught_cpu", "caught-up srv CPU p50 ms"),
        ("healthz_p50", "/healthz p50 ms"),
        ("query_p50", "my_rooms() p50 ms"),
        ("no_count_p50", "without count p50 ms"),
        ("count_p50", "count p50 ms"),
        ("others", "others on srv core %"),
    ]
    return ["### Unread counts (GET /users/me/rooms)", head, table(rows, columns)]


def warnings(unread: dict[str, Any]) -> list[str]:
    if "error" in unread:
        return failed(NAME, unread)
    found = []
    for phase in unread.get("phases", []):
        label = f"unread {unread['database']} {phase.get('phase', '')}"
        if "error" in phase:
            found.append(f"{label}: FAILED: {phase['error']}")
            continue
        if phase["problems"] or phase["unread_total"] != unread["fill"]["unread_total"]:
            found.append(f"{label}: wrong answer: {phase['problems'][:3]}")
        if (phase.get("reader", {}).get("p95_ms") or 0) > TARGET_MS:
            found.append(f"{label}: reader p95 {phase['reader']['p95_ms']} ms, above {TARGET_MS} ms")
        found += noisy(label, phase)
    return found
