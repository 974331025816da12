"""Benchmark runner: starts each server pinned to one core, runs the load client
(bench/loadgen.py) pinned to another, and writes a JSON file plus a markdown
report (stdout).

    .venv/bin/python bench/run.py            # full run
    .venv/bin/python bench/run.py --quick    # smoke run, about a minute

The service measured is the one installed in the interpreter's environment
(`chat-service` beside it), so another checkout's venv python runs this harness
against that checkout's service.

See bench/README.md for what each scenario measures."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from harness import BENCH, PYTHON, REFERENCES, REPO, TARGETS, generator_bound
from load import mix, procstat
from peers import real
from report import table
from scenarios import SCENARIOS, peers
from scenarios.many_rooms import REFERENCE as STORAGE_REFERENCE

# Without the service among --targets, only these run (against the references).
REFERENCE_SCENARIOS = ("fanout", "idle", "peers")
# Run only when asked for (--scenarios): they install and start other projects' servers.
OPT_IN_SCENARIOS = ("peers",)


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
    if results.get("ratios"):
        parts += [
            "### Service ÷ reference (same run; >1 means the service needs more / is higher)",
            table(
                results["ratios"],
                [("what", "scenario"), ("metric", "metric"), ("service", "service value")]
                + [(ref, f"÷ {ref}") for ref in (*REFERENCES, STORAGE_REFERENCE, *peers.PEERS)]
                + [("history_off", "÷ history off")],
            ),
        ]
    for name, scenario in SCENARIOS.items():
        result = results.get(name)
        if result and (scenario.ROWS or "error" not in result):
            parts += scenario.markdown(result)
    found = results.get("warnings") or []
    parts += ["### Warnings", "\n".join(f"- {w}" for w in found) if found else "none"]
    if results.get("generator_bound"):
        parts += ["### FAILED: generator-bound rows", "\n".join(f"- {w}" for w in results["generator_bound"])]
    return "\n\n".join(parts) + "\n"


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
    # -P, and not from here: the current directory must not shadow the installed package;
    # PYTHONPATH does (bench/ab.py runs a git worktree's service that way).
    found = subprocess.run(
        [PYTHON, "-P", "-c", "import service, os; print(os.path.dirname(service.__file__))"],
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
    for package in (
        "websockets",
        "picows",
        "uvicorn",
        "fastapi",
        "starlette",
        "python-socketio",
        "uvloop",
        "sqlalchemy",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    lateness = {core: timer_lateness_ms(core) for core in (args.server_core, args.client_core)}
    checkout = service_checkout()
    return {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "args": {k: v for k, v in vars(args).items()},
        # The service's checkout and commit, which may not be this harness's (another checkout's python).
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
        "peers": real.versions() if "peers" in args.scenarios else {},
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
    p.add_argument("--quick", action="store_true", help="shrink every scenario: a smoke run of about a minute")
    p.add_argument(
        "--scenarios",
        type=lambda s: s.split(","),
        default=[s for s in SCENARIOS if s not in OPT_IN_SCENARIOS],
        help=f"{','.join(SCENARIOS)} (not by default: {','.join(OPT_IN_SCENARIOS)})",
    )
    p.add_argument(
        "--targets",
        type=lambda s: s.split(","),
        default=[*TARGETS, *peers.TARGETS],
        help=",".join((*TARGETS, *peers.TARGETS)),
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
    p.add_argument(
        "--mix",
        nargs="?",
        const=mix.DEFAULT,
        type=mix.checked,
        help=f"many-rooms: shares of replies and mentions among the messages (alone: {mix.DEFAULT})",
    )
    p.add_argument("--quiet-rooms", type=int, default=20_000, help="quiet: rooms open at rest (on /ws)")
    p.add_argument("--quiet-per-room-rooms", type=int, default=18_000, help="quiet: of those, with a per-room socket")
    p.add_argument("--quiet-second", type=int, default=1_000, help="quiet: more per-room sockets in open rooms")
    p.add_argument("--quiet-window", type=float, default=20, help="quiet: seconds of each idle measurement")
    p.add_argument("--instance-counts", type=csv_ints, default=[1, 2, 4], help="instances: counts to run")
    p.add_argument("--instances-room-size", type=int, default=4, help="instances: clients per room (of --rooms)")
    p.add_argument("--instances-rate", type=float, help="instances: fixed total msg/s (default: fraction x 1's)")
    p.add_argument("--idle-connections", type=int, default=5000)
    p.add_argument("--settle", type=float, default=2, help="seconds before each idle RSS reading")
    p.add_argument("--connect-count", type=int, default=500, help="connect: connects per row")
    p.add_argument("--connect-messages", type=int, default=1000, help="connect: messages in the full room")
    p.add_argument("--connect-new-rooms", type=int, default=200, help="connect: new rooms whose first socket is timed")
    p.add_argument("--connect-users", type=int, default=300, help="connect: distinct users into one room")
    p.add_argument("--replay-clients", type=int, default=500)
    p.add_argument("--replay-missed", type=int, default=1000)
    p.add_argument("--logins", type=int, default=300)
    p.add_argument("--login-users", type=int, default=10)
    p.add_argument("--login-concurrency", type=int, default=32)
    p.add_argument("--entries", type=int, default=2000, help="entries: messages, then as many reactions added, removed")
    p.add_argument("--entries-concurrency", type=int, default=16, help="entries: requests in flight")
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
    p.add_argument(
        "--slow-clients", type=int, default=60, help="slow-readers: sockets (then requests) that read nothing"
    )
    p.add_argument("--slow-messages", type=int, default=1000, help="slow-readers: messages of 16 KB in the room")
    p.add_argument("--slow-timeout", type=float, default=30, help="slow-readers: CHAT_SEND_TIMEOUT_SECONDS")
    p.add_argument("--slow-watch", type=float, default=80, help="slow-readers: seconds each phase is watched")
    p.add_argument("--slow-interval", type=float, default=5, help="slow-readers: seconds between RSS samples")
    p.add_argument("--slow-gone-wait", type=float, default=3, help="slow-readers: seconds before the last reading")
    p.add_argument("--peers-room", type=int, default=10, help="peers: clients of the latency room")
    p.add_argument("--peers-rate", type=float, default=5, help="peers: msg/s in the latency room, every server")
    p.add_argument("--peers-fanout", type=int, default=100, help="peers: clients of the fan-out room")
    p.add_argument("--peers-rooms", type=int, default=200, help="peers: rooms of one sender for the stored rate")
    p.add_argument("--peers-connects", type=int, default=200, help="peers: connects (Synapse: users' initial /syncs)")
    p.add_argument(
        "--synapse-databases",
        type=lambda s: s.split(","),
        default=["sqlite", "postgresql"],
        help="peers: Synapse's databases (a fresh one each; PostgreSQL on --pg-url)",
    )
    p.add_argument("--scenario-timeout", type=float, default=600, help="hard limit per loadgen run, seconds")
    p.add_argument("--keep-logs", action="store_true", help="keep server logs and databases")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.drain_idle, args.settle, args.users = 1.0, 1.5, 0.3, 2
        args.fanout_sizes, args.rooms, args.room_sizes = [50], 20, [2]
        args.idle_connections, args.replay_clients, args.replay_missed = 200, 20, 200
        args.logins, args.login_users, args.scenario_timeout = 30, 2, 120
        args.entries = 200
        args.connect_count, args.connect_messages, args.connect_new_rooms, args.connect_users = 50, 200, 20, 20
        args.mux_users, args.mux_rooms_per_user, args.mux_room_members = 40, 5, 10
        args.unread_rooms, args.unread_messages, args.unread_history, args.unread_other_rows = 20, 2000, 5000, 2000
        args.unread_requests, args.unread_query_runs = 20, 10
        args.instance_counts = [1, 2]
        args.quiet_rooms, args.quiet_per_room_rooms, args.quiet_second, args.quiet_window = 400, 300, 50, 2
        args.slow_clients, args.slow_messages, args.slow_timeout = 20, 300, 2
        args.slow_watch, args.slow_interval, args.slow_gone_wait = 4, 1, 1
        args.peers_fanout, args.peers_rooms, args.peers_connects = 20, 10, 20
    unknown = set(args.scenarios) - set(SCENARIOS) or set(args.targets) - {*TARGETS, *peers.TARGETS}
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
    started = time.monotonic()
    for name, scenario in SCENARIOS.items():
        if name not in args.scenarios or ("service" not in args.targets and name not in REFERENCE_SCENARIOS):
            continue
        print(f"{name}…", file=sys.stderr, flush=True)
        try:
            results[name] = scenario.run(args)
        except Exception as exc:  # one broken scenario should not lose the others
            failed = {"target": "service", "error": f"{type(exc).__name__}: {exc}"}
            results[name] = [failed] if scenario.ROWS else failed
    results["meta"]["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    results["meta"]["elapsed_s"] = round(time.monotonic() - started, 1)
    measured = [(m, results[name]) for name, m in SCENARIOS.items() if name in results]
    results["ratios"] = [row for m, result in measured if hasattr(m, "ratios") for row in m.ratios(result)]
    found = [w for m, result in measured for w in m.warnings(result)]
    results["warnings"] = found + ([mux_capped] if mux_capped else [])
    results["generator_bound"] = generator_bound(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(markdown(results))
    print(f"results: {out} ({results['meta']['elapsed_s']} s)")
    if results["generator_bound"]:
        print("FAILED: the generator cost more than half the server's CPU per delivery in:", file=sys.stderr)
        print("\n".join(f"  {w}" for w in results["generator_bound"]), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
