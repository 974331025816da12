"""Benchmark runner: starts each server pinned to one core, runs bench/loadgen.py
pinned to another, and writes a JSON file plus a markdown report (stdout).

    .venv/bin/python bench/run.py            # full run
    .venv/bin/python bench/run.py --quick    # smoke run, under a minute

The service measured is the one installed in the interpreter's environment
(`chat-service` beside it), so another checkout's venv python runs this harness
against that checkout's service (see bench/ab.py).

See bench/README.md for what each scenario measures."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import procstat
from harness import BENCH, PYTHON, REPO, broadcast, fixed_rate, fmt, loadgen, run_json, server, storage_reference, table
from instances import instances_markdown, run_instances

TARGETS = ("service", "raw_ws", "picows", "bare_fastapi", "socketio")
REFERENCES = ("raw_ws", "picows", "bare_fastapi", "socketio")
# The generator must cost at most this share of the server's CPU per delivery, or the
# figures measure the generator.
GEN_SHARE_MAX = 0.5
SCENARIOS = ("fanout", "many-rooms", "idle", "replay", "login", "mux", "unread", "quiet", "instances")
IDLE_TARGETS = ("service", "bare_fastapi", "raw_ws")
CLIENT_BOUND_PCT = 85  # generator CPU above this: the client, not the server, set the pace
NOISY_PCT = 10  # other processes used more than this of the server's or generator's core
UNREAD_TARGET_MS = 50  # GET /users/me/rooms, 200 rooms, 50,000 unread (issue 13)


def run_fanout(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for size in args.fanout_sizes:
        rate: float | None = args.fanout_rate
        for target in [t for t in TARGETS if t in args.targets]:  # the service first: it sets the rate
            with server(target, args, CHAT_HISTORY_ON_CONNECT="0") as srv:
                sat = broadcast(args, srv, 1, size, "saturated", args.fanout_inflight, 0)
                if rate is None:
                    rate = fixed_rate(args, None, sat)
                time.sleep(args.settle)
                fixed = broadcast(args, srv, 1, size, "rate", 0, rate)
            for row in (sat, fixed):
                rows.append({"scenario": "fanout", "size": f"1x{size}", **row})
    return rows


def run_many_rooms(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    # Before and after the service's rows: PostgreSQL's own state (checkpoints after
    # the service's writes) moves the reference by up to 2x between runs.
    references = [storage_reference(args)] if args.database == "postgresql" else []
    for size in args.room_sizes:
        with server("service", args, CHAT_HISTORY_ON_CONNECT="0") as srv:
            members = args.rooms_members
            sat = broadcast(args, srv, args.rooms, size, "saturated", args.rooms_inflight, 0, members)
            if args.rooms_saturated_only:
                fixed = None
            else:
                time.sleep(args.settle)
                rate = fixed_rate(args, args.rooms_rate, sat)
                fixed = broadcast(args, srv, args.rooms, size, "rate", 0, rate, members)
        for row in (sat, fixed):
            if row is not None:
                label = f"{args.rooms}x{size}{' members' if members else ''}"
                rows.append({"scenario": "many-rooms", "size": label, **row})
    if references:
        references.append(storage_reference(args))
        failed = next((r for r in references if "error" in r), None)
        runs = [r["stored_per_s"] for r in references if "error" not in r]
        reference = failed or {
            **references[-1],
            "stored_per_s": round(sum(runs) / len(runs), 1),
            "stored_per_s_runs": runs,
        }
        rows.append({"scenario": "many-rooms", "size": f"{args.rooms} rooms", **reference})
    return rows


def run_idle(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for target in [t for t in IDLE_TARGETS if t in args.targets]:
        with server(target, args, CHAT_HISTORY_ON_CONNECT="0") as srv:
            options = ["--target", target, "--connections", args.idle_connections, "--settle", args.settle]
            rows.append({"scenario": "idle", **loadgen(args, "idle", srv, options)})
    return rows


def run_replay(args: argparse.Namespace) -> dict[str, Any]:
    with server("service", args, CHAT_MAX_REPLAY=str(max(1000, args.replay_missed))) as srv:
        options = ["--clients", args.replay_clients, "--missed", args.replay_missed, "--body-size", args.body_size]
        return {"scenario": "replay", **loadgen(args, "replay", srv, options)}


def run_mux(args: argparse.Namespace) -> dict[str, Any]:
    with server(
        "service",
        args,
        CHAT_HISTORY_ON_CONNECT="0",
        CHAT_MAX_ROOMS_PER_SOCKET=str(max(500, args.mux_rooms_per_user)),
        # Registering and logging in 1,000 users takes a minute (argon2): tokens must outlive the run.
        CHAT_ACCESS_TOKEN_MINUTES="120",
    ) as srv:
        options = ["--users", args.mux_users, "--rooms-per-user", args.mux_rooms_per_user]
        options += ["--room-members", args.mux_room_members, "--subscribe-concurrency", args.mux_subscribe_concurrency]
        options += ["--inflight", args.mux_inflight, "--duration", args.duration, "--drain-idle", args.drain_idle]
        options += ["--body-size", args.body_size, "--settle", args.settle]
        return {"scenario": "mux", **loadgen(args, "mux", srv, options)}


def run_login(args: argparse.Namespace) -> dict[str, Any]:
    with server("service", args) as srv:
        options = ["--logins", args.logins, "--users", args.login_users, "--concurrency", args.login_concurrency]
        return {"scenario": "login", **loadgen(args, "login", srv, options)}


def run_quiet(args: argparse.Namespace) -> dict[str, Any]:
    """Many rooms open and nothing sent; the first sockets of rooms (bench/quiet.py)."""
    with server("service", args, CHAT_HISTORY_ON_CONNECT="0") as srv, server("bare_fastapi", args) as bare:
        cmd = ["taskset", "-c", str(args.client_core), PYTHON, str(BENCH / "quiet.py")]
        cmd += ["--reference-port", str(bare.port), "--reference-pid", str(bare.pid)]
        cmd += ["--port", str(srv.port), "--server-pid", str(srv.pid), "--rooms", str(args.quiet_rooms)]
        cmd += ["--per-room-rooms", str(args.quiet_per_room_rooms), "--second-sockets", str(args.quiet_second)]
        cmd += ["--window", str(args.quiet_window)]
        print(f"  [{time.strftime('%H:%M:%S')}] quiet.py {' '.join(cmd[4:])}", file=sys.stderr, flush=True)
        result, _ = run_json(cmd, "quiet.py", args.scenario_timeout)
        return {"scenario": "quiet", "target": "service", **result}


def quiet_markdown(quiet: dict[str, Any]) -> list[str]:
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


def unread_step(args: argparse.Namespace, step: str, options: Sequence[object]) -> dict[str, Any]:
    """One step of bench/unread.py, pinned to the client core; its JSON result."""
    cmd = ["taskset", "-c", str(args.client_core), PYTHON, str(BENCH / "unread.py"), step, *(str(o) for o in options)]
    print(f"  [{time.strftime('%H:%M:%S')}] unread.py {step}", file=sys.stderr, flush=True)
    result, _ = run_json(cmd, f"unread.py {step}", args.scenario_timeout)
    return result


def run_unread(args: argparse.Namespace) -> dict[str, Any]:
    """A user in --unread-rooms rooms with --unread-messages unread: GET /users/me/rooms (bench/unread.py)."""
    out: dict[str, Any] = {"scenario": "unread", "target": "service", "database": args.database}
    with server("service", args) as srv:
        assert srv.database_url is not None
        manifest = Path(tempfile.mkdtemp(prefix="bench-unread-", dir=args.db_dir)) / "manifest.json"
        try:
            options: list[object] = ["--port", srv.port, "--database-url", srv.database_url, "--manifest", manifest]
            options += ["--rooms", args.unread_rooms, "--unread", args.unread_messages]
            options += ["--history", args.unread_history, "--other-rows", args.unread_other_rows]
            out["fill"] = unread_step(args, "fill", options)
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
                    out["vacuum"] = unread_step(args, "vacuum", ["--database-url", srv.database_url])
                out["phases"].append(unread_step(args, "measure", [*measure, "--phase", phase]))
        finally:
            shutil.rmtree(manifest.parent, ignore_errors=True)
    return out


# ------------------------------------------------------------------ analysis


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def ratios(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The service against each reference, same scenario, size and mode, same run."""
    out = []
    fanout = [r for r in results.get("fanout", []) if "error" not in r]
    for size in dict.fromkeys(r["size"] for r in fanout):
        for mode in ("saturated", "rate"):
            rows = {r["target"]: r for r in fanout if r["size"] == size and r["mode"] == mode}
            service = rows.get("service")
            if service is None:
                continue
            metrics = ["server_cpu_us_per_delivery"] + (["deliveries_per_s"] if mode == "saturated" else ["p99_ms"])
            for metric in metrics:
                row: dict[str, Any] = {"what": f"fanout {size} {mode}", "metric": metric, "service": service[metric]}
                for ref in REFERENCES:
                    row[ref] = ratio(service[metric], rows.get(ref, {}).get(metric))
                out.append(row)
    many = [r for r in results.get("many-rooms", []) if "error" not in r]
    reference = next((r for r in many if r["target"] == "asyncpg_batched_insert"), None)
    for r in many:
        if reference and r["target"] == "service" and r.get("mode") == "saturated":
            metric = "stored_per_s"
            out.append(
                {
                    "what": f"many-rooms {r['size']} saturated",
                    "metric": "stored msgs/s",
                    "service": r[metric],
                    "asyncpg_batched_insert": ratio(r[metric], reference["stored_per_s"]),
                }
            )
    idle = {r["target"]: r for r in results.get("idle", []) if "error" not in r}
    if "service" in idle:
        row = {"what": "idle", "metric": "rss_per_conn_kib", "service": idle["service"]["rss_per_conn_kib"]}
        for ref in REFERENCES:
            row[ref] = ratio(idle["service"]["rss_per_conn_kib"], idle.get(ref, {}).get("rss_per_conn_kib"))
        out.append(row)
    return out


def warnings(results: dict[str, Any]) -> list[str]:
    found = []
    for key in ("fanout", "many-rooms", "idle", "instances"):
        for r in results.get(key, []):
            label = f"{key} {r.get('size', '')} {r['target']} {r.get('mode', '')}".replace("  ", " ")
            label += f" ({r['instances']} instances)" if r.get("instances") else ""
            if "error" in r:
                found.append(f"{label}: FAILED: {r['error']}")
                continue
            for field in ("lost", "duplicated", "unexpected", "seq_errors", "dropped_connections", "failed"):
                if r.get(field):
                    found.append(f"{label}: {field} = {r[field]}")
            if r.get("other_frames"):
                found.append(f"{label}: {r['other_frames']} non-message frames (errors) received")
            if key != "idle" and (r.get("gen_cpu_pct") or 0) > CLIENT_BOUND_PCT:
                found.append(f"{label}: generator at {r['gen_cpu_pct']}% CPU: client-bound, the server may do more")
            if (r.get("gen_share") or 0) > GEN_SHARE_MAX:
                found.append(f"{label}: the generator costs {r['gen_share']}× the server's CPU per delivery")
            found += noisy(label, r)
    mux = results.get("mux")
    if mux and "error" in mux:
        found.append(f"mux: FAILED: {mux['error']}")
    elif mux:
        for field in ("misrouted", "errors", "dropped_connections"):
            if mux.get(field):
                found.append(f"mux: {field} = {mux[field]} (e.g. {mux.get('errors_sample')})")
        for endpoint in ("ws", "per_room"):
            part = mux[endpoint]
            if part.get("subscribe_failed"):
                found.append(f"mux {endpoint}: {part['subscribe_failed']} subscriptions failed")
            if (part.get("subscribe_others_server_core_pct") or 0) > NOISY_PCT:
                found.append(
                    f"mux {endpoint} subscribe: other processes took "
                    f"{part['subscribe_others_server_core_pct']}% of the server core: noisy"
                )
            fan = part["fanout"]
            label = f"mux {endpoint} fan-out"
            for field in ("lost", "duplicated"):
                if fan.get(field):
                    found.append(f"{label}: {field} = {fan[field]}")
            if (fan.get("gen_cpu_pct") or 0) > CLIENT_BOUND_PCT:
                found.append(f"{label}: generator at {fan['gen_cpu_pct']}% CPU: client-bound, the server may do more")
            found += noisy(label, fan)
    unread = results.get("unread")
    if unread and "error" in unread:
        found.append(f"unread: FAILED: {unread['error']}")
    elif unread:
        for phase in unread.get("phases", []):
            label = f"unread {unread['database']} {phase.get('phase', '')}"
            if "error" in phase:
                found.append(f"{label}: FAILED: {phase['error']}")
                continue
            if phase["problems"] or phase["unread_total"] != unread["fill"]["unread_total"]:
                found.append(f"{label}: wrong answer: {phase['problems'][:3]}")
            if (phase.get("reader", {}).get("p95_ms") or 0) > UNREAD_TARGET_MS:
                found.append(f"{label}: reader p95 {phase['reader']['p95_ms']} ms, above {UNREAD_TARGET_MS} ms")
            found += noisy(label, phase)
    for key in ("replay", "login"):
        r = results.get(key)
        if r:
            found += noisy(key, r)
        if r and "error" in r:
            found.append(f"{key}: FAILED: {r['error']}")
        elif r and (r.get("lost") or r.get("duplicated") or r.get("errors") or r.get("truncated")):
            found.append(f"{key}: lost={r.get('lost')} dup={r.get('duplicated')} errors={r.get('errors')}")
    return found


def noisy(label: str, r: dict[str, Any]) -> list[str]:
    found = []
    for field, core in (("others_server_core_pct", "server"), ("others_gen_core_pct", "generator")):
        if (r.get(field) or 0) > NOISY_PCT:
            found.append(f"{label}: other processes took {r[field]}% of the {core} core: noisy, rerun to confirm")
    return found


# ------------------------------------------------------------------ markdown


BROADCAST_COLUMNS = [
    ("scenario", "scenario"),
    ("size", "rooms x clients"),
    ("target", "server"),
    ("mode", "mode"),
    ("rate_target", "rate msg/s"),
    ("msgs_per_s", "sent msg/s"),
    ("deliveries_per_s", "deliveries/s"),
    ("stored_per_s", "stored msg/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("max_ms", "max ms"),
    ("server_cpu_us_per_delivery", "srv CPU µs/delivery"),
    ("server_cpu_pct", "srv CPU %"),
    ("gen_cpu_pct", "gen CPU %"),
    ("gen_share", "gen ÷ srv CPU/delivery"),
    ("others_server_core_pct", "others on srv core %"),
    ("lost", "lost"),
    ("duplicated", "dup"),
]


def database(meta: dict[str, Any]) -> str:
    if meta["args"]["database"] == "postgresql":
        return f"PostgreSQL at {meta['args']['pg_url'].split('@')[-1]} (a fresh database per server)"
    return f"SQLite on {meta['db_filesystem']} ({meta['db_dir']})"


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    harness = "" if meta["bench_head"] == meta["git_head"] else f" (bench/ at {meta['bench_head'][:10]})"
    parts = [
        f"## Chat service benchmark ({meta['started']}, {'quick' if meta['args']['quick'] else 'full'})",
        f"service commit {meta['git_head'][:10]}{' + uncommitted changes in service/' if meta['service_dirty'] else ''}"
        f"{harness}"
        f"; CHAT_STORE_BATCH={meta['args']['store_batch'] or 'default'}"
        f"{''.join(f'; {k}={v}' for k, v in meta['args']['service_env'])}"
        f"; {database(meta)}; server on core {meta['args']['server_core']}, "
        f"generator on core {meta['args']['client_core']}; load average before {meta['loadavg_before']}, "
        f"after {meta['loadavg_after']}; timer lateness p99 (ms) {meta['timer_lateness_p99_ms']}.",
    ]
    rows = [r for key in ("fanout", "many-rooms") for r in results.get(key, []) if "error" not in r]
    if rows:
        parts += ["### Broadcast (fan-out and many rooms)", table(rows, BROADCAST_COLUMNS)]
    if results.get("ratios"):
        parts += [
            "### Service ÷ reference (same run; >1 means the service needs more / is higher)",
            table(
                results["ratios"],
                [("what", "scenario"), ("metric", "metric"), ("service", "service value")]
                + [(ref, f"÷ {ref}") for ref in (*REFERENCES, "asyncpg_batched_insert")],
            ),
        ]
    idle = [r for r in results.get("idle", []) if "error" not in r]
    if idle:
        parts += [
            "### Idle connections",
            table(
                idle,
                [
                    ("target", "server"),
                    ("connections", "connections"),
                    ("rss_before_kib", "RSS before KiB"),
                    ("rss_after_kib", "RSS after KiB"),
                    ("rss_per_conn_kib", "KiB/connection"),
                    ("connects_per_s", "connects/s"),
                    ("server_cpu_us_per_connect", "srv CPU µs/connect"),
                    ("others_server_core_pct", "others on srv core %"),
                    ("failed", "failed"),
                ],
            ),
        ]
    replay = results.get("replay")
    if replay and "error" not in replay:
        parts += [
            "### Replay (reconnect with since)",
            table(
                [replay],
                [
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
                ],
            ),
        ]
    login = results.get("login")
    if login and "error" not in login:
        parts += [
            "### Login storm (POST /auth/token)",
            table(
                [login],
                [
                    ("logins", "logins"),
                    ("concurrency", "concurrency"),
                    ("logins_per_s", "logins/s"),
                    ("p50_ms", "p50 ms"),
                    ("p99_ms", "p99 ms"),
                    ("max_ms", "max ms"),
                    ("server_cpu_ms_per_login", "srv CPU ms/login"),
                    ("statuses", "statuses"),
                ],
            ),
        ]
    mux = results.get("mux")
    if mux and "error" not in mux:
        parts += mux_markdown(mux)
    unread = results.get("unread")
    if unread and "error" not in unread:
        parts += unread_markdown(unread)
    quiet = results.get("quiet")
    if quiet and "error" not in quiet:
        parts += quiet_markdown(quiet)
    parts += instances_markdown(results.get("instances", []))
    found = results.get("warnings") or []
    parts += ["### Warnings", "\n".join(f"- {w}" for w in found) if found else "none"]
    return "\n\n".join(parts) + "\n"


def unread_markdown(unread: dict[str, Any]) -> list[str]:
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


def mux_markdown(mux: dict[str, Any]) -> list[str]:
    ws, room = mux["ws"], mux["per_room"]
    ratios = mux["ratio_ws_per_room"]
    lo, hi = mux["members_per_room"]
    head = (
        f"{mux['users']} users × {mux['rooms_per_user']} rooms ({mux['rooms']} rooms of {lo}–{hi} users, "
        f"{mux['subscriptions']:,} subscriptions); subscribe concurrency {ws['subscribe_concurrency']}; "
        f"fan-out: one sender per room, {ws['fanout']['inflight']} in flight each, saturated"
    )
    rows = [
        ("sockets", ws["sockets"], room["sockets"], None),
        ("server RSS KiB per socket, idle (after hello)", ws["rss_per_socket_kib"], None, None),
        ("server RSS KiB per subscription (socket excluded)", ws["rss_per_subscription_kib"], None, None),
        (
            "server RSS KiB per subscription, sockets included",
            ws["rss_per_subscription_incl_socket_kib"],
            room["rss_per_subscription_kib"],
            ratios["rss_per_subscription_incl_socket_kib"],
        ),
        ("server CPU µs per /ws connect (to hello)", ws["server_cpu_us_per_connect"], None, None),
        (
            "subscribe p50 ms (/ws: subscribe→last synced; per room: connect→synced)",
            ws["subscribe_p50_ms"],
            room["connect_synced_p50_ms"],
            None,
        ),
        ("subscribe p99 ms", ws["subscribe_p99_ms"], room["connect_synced_p99_ms"], None),
        ("subscriptions/s", ws["subscriptions_per_s"], room["subscriptions_per_s"], None),
        (
            "server CPU µs per subscription",
            ws["server_cpu_us_per_subscription"],
            room["server_cpu_us_per_subscription"],
            ratios["server_cpu_us_per_subscription"],
        ),
        ("fan-out sent msg/s", ws["fanout"]["msgs_per_s"], room["fanout"]["msgs_per_s"], None),
        (
            "fan-out deliveries/s",
            ws["fanout"]["deliveries_per_s"],
            room["fanout"]["deliveries_per_s"],
            ratios["deliveries_per_s"],
        ),
        (
            "fan-out server CPU µs/delivery",
            ws["fanout"]["server_cpu_us_per_delivery"],
            room["fanout"]["server_cpu_us_per_delivery"],
            ratios["server_cpu_us_per_delivery"],
        ),
        (
            "fan-out generator CPU µs/delivery",
            ws["fanout"]["gen_cpu_us_per_delivery"],
            room["fanout"]["gen_cpu_us_per_delivery"],
            None,
        ),
        (
            "fan-out p50 / p99 ms",
            f"{fmt(ws['fanout']['p50_ms'])} / {fmt(ws['fanout']['p99_ms'])}",
            f"{fmt(room['fanout']['p50_ms'])} / {fmt(room['fanout']['p99_ms'])}",
            None,
        ),
        (
            "fan-out srv CPU % / gen CPU %",
            f"{fmt(ws['fanout']['server_cpu_pct'])} / {fmt(ws['fanout']['gen_cpu_pct'])}",
            f"{fmt(room['fanout']['server_cpu_pct'])} / {fmt(room['fanout']['gen_cpu_pct'])}",
            None,
        ),
        (
            "fan-out others on srv core %",
            ws["fanout"]["others_server_core_pct"],
            room["fanout"]["others_server_core_pct"],
            None,
        ),
        (
            "fan-out lost / dup",
            f"{ws['fanout']['lost']} / {ws['fanout']['duplicated']}",
            f"{room['fanout']['lost']} / {room['fanout']['duplicated']}",
            None,
        ),
        (
            "closing all sockets: s / unclean (server did not finish the close in 2 s)",
            f"{fmt(ws.get('close_s'))} / {fmt(ws.get('unclean_closes'))}",
            f"{fmt(room.get('close_s'))} / {fmt(room.get('unclean_closes'))}",
            None,
        ),
    ]
    columns = [("what", "measure"), ("ws", "/ws"), ("room", "/ws/rooms/{id}"), ("ratio", "/ws ÷ per-room")]
    return [
        "### Many rooms on one socket (/ws) vs one socket per room",
        head,
        table([dict(zip(("what", "ws", "room", "ratio"), row, strict=True)) for row in rows], columns),
    ]


# ------------------------------------------------------------------------ meta


def timer_lateness_ms(core: int, samples: int = 300) -> dict[str, float]:
    """How late a 1 ms sleep wakes up on `core`: the machine's own noise floor."""
    os.sched_setaffinity(0, {core})
    late = []
    for _ in range(samples):
        t = time.perf_counter()
        time.sleep(0.001)
        late.append(time.perf_counter() - t - 0.001)
    late.sort()
    return {"p50": round(late[len(late) // 2] * 1e3, 3), "p99": round(late[int(0.99 * len(late))] * 1e3, 3)}


def filesystem(path: str) -> str:
    """Type of the filesystem holding path (SQLite commits fsync; tmpfs makes that free)."""
    best, kind = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mount, fstype, *_ = line.split()
        if os.path.realpath(path).startswith(mount) and len(mount) > len(best):
            best, kind = mount, fstype
    return kind


def service_checkout() -> Path:
    """The checkout whose service this interpreter runs (an editable install: its source tree)."""
    # -I, and not from here: the current directory must not shadow the installed package.
    found = subprocess.run(
        [PYTHON, "-I", "-c", "import service, os; print(os.path.dirname(service.__file__))"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    return Path(found.stdout.strip()).parent if found.returncode == 0 and found.stdout.strip() else REPO


def git(*cmd: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    # Read-only; --no-optional-locks keeps git from refreshing the index file.
    return subprocess.run(["git", "--no-optional-locks", *cmd], cwd=cwd, capture_output=True, text=True)


def meta(args: argparse.Namespace) -> dict[str, Any]:
    versions = {}
    for package in ("websockets", "uvicorn", "fastapi", "starlette", "python-socketio", "uvloop", "sqlalchemy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    lateness = {core: timer_lateness_ms(core) for core in (args.server_core, args.client_core)}
    checkout = service_checkout()
    return {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "args": {k: v for k, v in vars(args).items()},
        # The service's checkout and commit, which may not be this harness's (bench/ab.py).
        "service_checkout": str(checkout),
        "git_head": git("rev-parse", "HEAD", cwd=checkout).stdout.strip(),
        "service_dirty": git("diff", "--quiet", "HEAD", "--", "service", cwd=checkout).returncode == 1,
        "bench_head": git("rev-parse", "HEAD").stdout.strip(),
        "database": args.database if args.database == "sqlite" else f"postgresql ({args.pg_url})",
        "python": platform.python_version(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "versions": versions,
        "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
        "db_dir": args.db_dir or tempfile.gettempdir(),
        "db_filesystem": filesystem(args.db_dir or tempfile.gettempdir()),
        "timer_lateness_ms": lateness,
        "timer_lateness_p99_ms": {f"core {c}": v["p99"] for c, v in lateness.items()},
    }


# ------------------------------------------------------------------------- CLI


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.startswith("CHAT_"):
        raise argparse.ArgumentTypeError("expected CHAT_NAME=value")
    return key, value


def csv_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="shrink every scenario: a smoke run under a minute")
    p.add_argument("--scenarios", type=lambda s: s.split(","), default=list(SCENARIOS), help=",".join(SCENARIOS))
    p.add_argument("--targets", type=lambda s: s.split(","), default=list(TARGETS), help=",".join(TARGETS))
    p.add_argument(
        "--client",
        choices=("native", "picows", "websockets"),
        default="native",
        help="the broadcast generator's WebSocket client (native: listeners in C, senders on picows)",
    )
    p.add_argument("--out", type=Path, help="JSON results file (default: bench/results/run-<time>.json)")
    p.add_argument("--store-batch", type=int, help="pass CHAT_STORE_BATCH to the service (1: commit per message)")
    p.add_argument(
        "--service-env",
        type=key_value,
        action="append",
        default=[],
        metavar="CHAT_X=V",
        help="extra service setting, repeatable (e.g. CHAT_SQLITE_SYNCHRONOUS=normal)",
    )
    p.add_argument(
        "--without-search-index",
        action="store_true",
        help="the service's database without the search index (what it costs the write path)",
    )
    p.add_argument("--db-dir", help="where the SQLite files go (default: the temp dir; /dev/shm takes fsync out)")
    p.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the service's database: a fresh SQLite file, or a fresh PostgreSQL database on --pg-url, per server",
    )
    p.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL admin connection (asyncpg URL) that creates and drops the bench databases",
    )
    p.add_argument(
        "--redis-url",
        help="the service's broker and presence (CHAT_REDIS_URL), under a key prefix of its own, removed afterwards",
    )
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--client-core", type=int, default=1)
    p.add_argument("--duration", type=float, default=10, help="seconds of sending per broadcast measurement")
    p.add_argument("--drain-idle", type=float, default=3, help="give up on missing deliveries after this long")
    p.add_argument("--body-size", type=int, default=100, help="message body characters")
    p.add_argument("--users", type=int, default=4, help="service users the broadcast clients share")
    p.add_argument("--rate-fraction", type=float, default=0.5, help="fixed rate = this x the service's saturated rate")
    p.add_argument("--fanout-sizes", type=csv_ints, default=[100, 1000], help="clients in the one room")
    p.add_argument("--fanout-inflight", type=int, default=16, help="saturated: unacknowledged messages of the sender")
    p.add_argument("--fanout-rate", type=float, help="fixed rate in msg/s (default: --rate-fraction x service)")
    p.add_argument("--rooms", type=int, default=200)
    p.add_argument("--room-sizes", type=csv_ints, default=[2, 5], help="clients per room")
    p.add_argument("--rooms-inflight", type=int, default=2, help="saturated: unacknowledged messages per sender")
    p.add_argument("--rooms-rate", type=float, help="fixed total msg/s (default: --rate-fraction x saturated)")
    p.add_argument(
        "--rooms-members",
        action="store_true",
        help="many-rooms: every user is a member of every room (by default only the rooms' creator, not a sender)",
    )
    p.add_argument("--rooms-saturated-only", action="store_true", help="many-rooms: skip the fixed-rate run")
    p.add_argument("--quiet-rooms", type=int, default=20_000, help="quiet: rooms open at rest (on /ws)")
    p.add_argument("--quiet-per-room-rooms", type=int, default=18_000, help="quiet: of those, with a per-room socket")
    p.add_argument("--quiet-second", type=int, default=1_000, help="quiet: more per-room sockets in open rooms")
    p.add_argument("--quiet-window", type=float, default=20, help="quiet: seconds of each idle measurement")
    p.add_argument("--instance-counts", type=csv_ints, default=[1, 2, 4], help="instances: counts to run")
    p.add_argument("--instances-room-size", type=int, default=4, help="instances: clients per room (of --rooms)")
    p.add_argument("--instances-rate", type=float, help="instances: fixed total msg/s (default: fraction x 1's)")
    p.add_argument("--idle-connections", type=int, default=5000)
    p.add_argument("--settle", type=float, default=2, help="seconds before each idle RSS reading")
    p.add_argument("--replay-clients", type=int, default=500)
    p.add_argument("--replay-missed", type=int, default=1000)
    p.add_argument("--logins", type=int, default=300)
    p.add_argument("--login-users", type=int, default=10)
    p.add_argument("--login-concurrency", type=int, default=32)
    p.add_argument("--mux-users", type=int, default=1000, help="mux: users, one /ws socket each")
    p.add_argument("--mux-rooms-per-user", type=int, default=20, help="mux: rooms each user subscribes to")
    p.add_argument("--mux-room-members", type=int, default=50, help="mux: users per room (sets the number of rooms)")
    p.add_argument("--mux-subscribe-concurrency", type=int, default=50, help="mux: subscribes (connects) at once")
    p.add_argument("--mux-inflight", type=int, default=2, help="mux: unacknowledged messages per room's sender")
    p.add_argument("--unread-rooms", type=int, default=200, help="unread: rooms the reader is a member of")
    p.add_argument("--unread-messages", type=int, default=50_000, help="unread: the reader's unread, all rooms")
    p.add_argument("--unread-history", type=int, default=250_000, help="unread: rows below the markers, all rooms")
    p.add_argument(
        "--unread-other-rows", type=int, default=100_000, help="unread: rows of 300 rooms the reader is not in"
    )
    p.add_argument("--unread-requests", type=int, default=300, help="unread: timed requests of each kind")
    p.add_argument("--unread-query-runs", type=int, default=100, help="unread: timed my_rooms() calls in-process")
    p.add_argument("--scenario-timeout", type=float, default=600, help="hard limit per loadgen run, seconds")
    p.add_argument("--keep-logs", action="store_true", help="keep server logs and databases")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.drain_idle, args.settle, args.users = 1.0, 1.5, 0.3, 2
        args.fanout_sizes, args.rooms, args.room_sizes = [50], 20, [2]
        args.idle_connections, args.replay_clients, args.replay_missed = 200, 20, 200
        args.logins, args.login_users, args.scenario_timeout = 30, 2, 120
        args.mux_users, args.mux_rooms_per_user, args.mux_room_members = 40, 5, 10
        args.unread_rooms, args.unread_messages, args.unread_history, args.unread_other_rows = 20, 2000, 5000, 2000
        args.unread_requests, args.unread_query_runs = 20, 10
        args.instance_counts = [1, 2]
        args.quiet_rooms, args.quiet_per_room_rooms, args.quiet_second, args.quiet_window = 400, 300, 50, 2
    unknown = set(args.scenarios) - set(SCENARIOS) or set(args.targets) - set(TARGETS)
    if unknown:
        p.error(f"unknown: {', '.join(sorted(unknown))}")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    mux_sockets = args.mux_users * args.mux_rooms_per_user if "mux" in args.scenarios else 0
    quiet_sockets = args.quiet_per_room_rooms + args.quiet_second if "quiet" in args.scenarios else 0
    others = max([args.idle_connections, args.replay_clients, args.rooms * max(args.room_sizes)] + args.fanout_sizes)
    # Children (servers, loadgen) inherit it.
    limit = procstat.raise_nofile(max(others, mux_sockets, quiet_sockets) + 1024)
    if limit < others + 100:
        print(f"warning: RLIMIT_NOFILE is {limit}, below the {others} connections asked for", file=sys.stderr)
    mux_capped = None
    if mux_sockets + 1024 > limit:
        # The per-room phase opens users x K sockets in the server and in the generator.
        fit = (limit - 1024) // args.mux_rooms_per_user
        fit = fit // 100 * 100 if fit >= 100 else max(1, fit)
        mux_capped = f"RLIMIT_NOFILE is {limit} (hard limit): mux users lowered from {args.mux_users} to {fit}"
        print(f"warning: {mux_capped}", file=sys.stderr)
        args.mux_users = fit
    results: dict[str, Any] = {"meta": meta(args)}
    results["meta"]["rlimit_nofile"] = limit
    os.sched_setaffinity(0, {args.client_core})  # the runner's own work stays off the server core
    out = args.out or BENCH / "results" / f"run-{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if args.quick else ''}.json"
    steps = {
        "fanout": run_fanout,
        "many-rooms": run_many_rooms,
        "idle": run_idle,
        "replay": run_replay,
        "login": run_login,
        "mux": run_mux,
        "unread": run_unread,
        "quiet": run_quiet,
        "instances": run_instances,
    }
    started = time.monotonic()
    for name in SCENARIOS:
        if name not in args.scenarios or (name != "fanout" and name != "idle" and "service" not in args.targets):
            continue
        print(f"{name}…", file=sys.stderr, flush=True)
        try:
            results[name] = steps[name](args)
        except Exception as exc:  # one broken scenario should not lose the others
            results[name] = {"target": "service", "error": f"{type(exc).__name__}: {exc}"}
            if name in ("fanout", "many-rooms", "idle", "instances"):
                results[name] = [results[name]]
    results["meta"]["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    results["meta"]["elapsed_s"] = round(time.monotonic() - started, 1)
    results["ratios"] = ratios(results)
    results["warnings"] = warnings(results) + ([mux_capped] if mux_capped else [])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(markdown(results))
    print(f"results: {out} ({results['meta']['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
