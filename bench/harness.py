"""What the bench scenarios share: servers started pinned to the server core (the
service on a fresh database, several instances of it on one, or a reference peer),
and the load client (bench/loadgen.py) run pinned to the client core against them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report import GEN_SHARE_MAX

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PYTHON = sys.executable
CHAT_SERVICE = str(Path(PYTHON).parent / "chat-service")
TARGETS = ("service", "raw_ws", "picows", "bare_fastapi", "socketio")
REFERENCES = ("raw_ws", "picows", "bare_fastapi", "socketio")
PEERS = {
    "raw_ws": "raw_ws.py",
    "picows": "picows_server.py",
    "bare_fastapi": "bare_fastapi.py",
    "socketio": "socketio_server.py",
}
SERVER_LIFETIME_S = 3600  # peers exit by themselves after this, whatever happens


def _die_with_parent() -> None:
    """In the child: SIGTERM it if the runner dies, so no server outlives a crashed run."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------- servers


@dataclass
class Server:
    kind: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    database_url: str | None = None  # the service's

    @property
    def pid(self) -> int:
        return self.proc.pid


def service_env(args: argparse.Namespace, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    env.update(
        CHAT_DATABASE_URL=database_url,
        CHAT_SECRET_KEY=secrets.token_urlsafe(36),  # 48 characters
        CHAT_RATE_PER_SECOND="1000000",
        CHAT_RATE_BURST="1000000",
        CHAT_MAX_CONNECTIONS="100000",
        CHAT_MAX_CONNECTIONS_PER_USER="100000",
        CHAT_SEND_QUEUE="10000",
        # The quiet scenario creates 20,000 rooms as fast as it can.
        CHAT_ROOM_CREATE_LIMIT_PER_USER="1000000/hour",
        CHAT_SEARCH_LIMIT_PER_USER="1000000/hour",
    )
    env.update(extra)
    if args.store_batch is not None:
        env["CHAT_STORE_BATCH"] = str(args.store_batch)
    env.update(args.service_env)
    return env


@contextlib.contextmanager
def fresh_database(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    """The service's database URL: a new SQLite file in workdir, or a new PostgreSQL
    database (--database postgresql), dropped afterwards."""
    if args.database == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir}/bench.db"
        return
    name = f"chat_bench_{os.getpid()}_{secrets.token_hex(4)}"
    pg_admin(args.pg_url, f'CREATE DATABASE "{name}"')
    try:
        yield pg_database_url(args.pg_url, name)
    finally:
        if args.keep_logs:
            print(f"  PostgreSQL database kept: {name}", file=sys.stderr)
        else:
            pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_database_url(admin_url: str, name: str) -> str:
    """The service's (SQLAlchemy asyncpg) URL of database `name` on the server of admin_url."""
    base = admin_url.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{base}/{name}"


def pg_admin(admin_url: str, statement: str) -> None:
    """Run one statement (CREATE/DROP DATABASE: outside a transaction) on the admin database."""
    import asyncpg  # the service's PostgreSQL driver (extra "scale", part of "test")

    async def run() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def server(kind: str, args: argparse.Namespace, **service_extra: str) -> Iterator[Server]:
    """A fresh server (fresh database for the service) pinned to the server core."""
    with contextlib.ExitStack() as stack:
        workdir = _workdir(stack, args, kind)
        env, database_url = dict(os.environ), None
        if kind == "service":
            env, database_url = _service_setup(stack, args, workdir, service_extra)
        yield stack.enter_context(start(kind, args, workdir, env, database_url))


@contextlib.contextmanager
def cluster(args: argparse.Namespace, n: int, **service_extra: str) -> Iterator[list[Server]]:
    """n instances of the service, all pinned to the server core, sharing one fresh
    database, one broker key prefix and one signing key, as behind a load balancer."""
    with contextlib.ExitStack() as stack:
        workdir = _workdir(stack, args, "cluster")
        env, database_url = _service_setup(stack, args, workdir, service_extra)
        servers = []
        for i in range(n):  # one after another: each migrates (a no-op after the first) at start
            (workdir / str(i)).mkdir()
            servers.append(stack.enter_context(start("service", args, workdir / str(i), env, database_url)))
        yield servers


def _workdir(stack: contextlib.ExitStack, args: argparse.Namespace, kind: str) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-", dir=args.db_dir))
    if not args.keep_logs:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
    return workdir


def _service_setup(
    stack: contextlib.ExitStack, args: argparse.Namespace, workdir: Path, extra: dict[str, str]
) -> tuple[dict[str, str], str]:
    """The service's environment and database URL: a fresh database, and with
    --redis-url a key prefix of its own, both removed when the stack closes."""
    database_url = stack.enter_context(fresh_database(args, workdir))
    env = service_env(args, database_url, **extra)
    if args.redis_url:
        env["CHAT_REDIS_URL"] = args.redis_url
        env["CHAT_REDIS_PREFIX"] = prefix = f"bench{os.getpid()}{secrets.token_hex(3)}"
        stack.callback(drop_redis_keys, args.redis_url, prefix)
    if args.without_search_index:
        subprocess.run([CHAT_SERVICE, "db", "upgrade"], cwd=workdir, env=env, check=True, capture_output=True)
        drop_search_index(args, database_url)
    return env, database_url


def drop_redis_keys(url: str, prefix: str) -> None:
    """What the server left in Redis under its own prefix (presence)."""
    import redis  # the service's Redis client (extra "scale", part of "test")

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def asyncpg_url(database_url: str) -> str:
    """The service's SQLAlchemy URL (postgresql+asyncpg://…) as asyncpg takes it."""
    return "postgresql://" + database_url.split("://", 1)[1]


def run_json(cmd: Sequence[str], what: str, timeout: float) -> tuple[dict[str, Any], str]:
    """Run a bench script: its last line of output as JSON, or {"error": …}; and the
    tail of its stderr."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired:
        return {"error": f"{what} timed out after {timeout}s"}, ""
    lines = done.stdout.strip().splitlines()
    stderr = done.stderr.strip()[-800:]
    if done.returncode != 0 or not lines:
        return {"error": f"{what} exit {done.returncode}: {stderr}"}, stderr
    result: dict[str, Any] = json.loads(lines[-1])
    return result, stderr


def drop_search_index(args: argparse.Namespace, database_url: str) -> None:
    """Undo migration 0004 (its own downgrade statements) on a database at head: the
    schema still says 0004, so the service starts, and writes as before the index."""
    path = REPO / "migrations" / "versions" / "0004_message_search.py"
    spec = importlib.util.spec_from_file_location("search_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    if args.database == "sqlite":
        with contextlib.closing(sqlite3.connect(database_url.split("///", 1)[1])) as db:
            for statement in migration.SQLITE_DOWN:
                db.execute(statement)
            db.commit()
        return
    url = asyncpg_url(database_url)
    for statement in migration.POSTGRES_DOWN:
        pg_admin(url, statement)


@contextlib.contextmanager
def start(
    kind: str, args: argparse.Namespace, workdir: Path, env: dict[str, str], database_url: str | None
) -> Iterator[Server]:
    """Start a server in workdir pinned to the server core; stopped on exit."""
    port = free_port()
    if kind == "service":
        cmd = [CHAT_SERVICE, "serve", "--port", str(port), "--log-level", "warning"]
    else:
        cmd = [PYTHON, str(BENCH / "peers" / PEERS[kind]), "--port", str(port)]
        cmd += ["--max-seconds", str(SERVER_LIFETIME_S)]
    log = workdir / "server.log"
    with open(log, "wb") as out:
        # cwd=workdir: the service reads .env from its working directory; there is none there.
        proc = subprocess.Popen(
            ["taskset", "-c", str(args.server_core), *cmd],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    srv = Server(kind, port, proc, log, database_url)
    try:
        wait_ready(srv, timeout=60)
        yield srv
    finally:
        stop(srv)
        if args.keep_logs:
            print(f"  server log kept: {log}", file=sys.stderr)


def wait_ready(srv: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            raise RuntimeError(f"{srv.kind} exited with {srv.proc.returncode}: {tail(srv.log)}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"{srv.kind} not ready after {timeout}s: {tail(srv.log)}")


def stop(srv: Server) -> None:
    if srv.proc.poll() is None:
        srv.proc.terminate()
        try:
            srv.proc.wait(15)  # the service drains for up to 10 s
        except subprocess.TimeoutExpired:
            srv.proc.kill()
            srv.proc.wait(10)
    problems = [line for line in tail(srv.log, 4000).splitlines() if "Traceback" in line or "ERROR" in line]
    if problems:
        print(f"  note: {srv.kind} logged errors, e.g. {problems[0][:200]}", file=sys.stderr)


def tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# --------------------------------------------------------------------- loadgen


def client(
    args: argparse.Namespace, command: str, options: Sequence[object], core: int | None = None, label: str = ""
) -> dict[str, Any]:
    """One step of the load client (bench/loadgen.py), pinned to the client core (or
    `core`); its JSON result, or {"error": …}."""
    options = [str(o) for o in options]
    cmd = ["taskset", "-c", str(args.client_core if core is None else core), PYTHON, str(BENCH / "loadgen.py")]
    cmd += [command, "--timeout", str(args.scenario_timeout), *options]
    print(f"  [{time.strftime('%H:%M:%S')}] {label}loadgen {command} {' '.join(options)}", file=sys.stderr, flush=True)
    result, stderr = run_json(cmd, f"loadgen {command}", args.scenario_timeout + 30)
    if stderr and "error" not in result:
        result["loadgen_stderr"] = stderr
    return result


def loadgen(
    args: argparse.Namespace,
    command: str,
    srv: Server,
    options: Sequence[object],
    more: Sequence[Server] = (),
    side: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The load client against srv (and, for broadcast, more instances of it, and the
    CPU of `side` processes such as PostgreSQL and Redis)."""
    head: list[object] = ["--port", srv.port, "--server-pid", srv.pid]
    if more:
        head += ["--more-ports", ",".join(str(s.port) for s in more)]
        head += ["--more-server-pids", ",".join(str(s.pid) for s in more)]
    for name, pid in (side or {}).items():
        head += ["--side-pid", f"{name}={pid}"]
    result = client(args, command, [*head, *options], label=f"{srv.kind}: ")
    return {"target": srv.kind, **result} if "error" in result else result


def broadcast(
    args: argparse.Namespace,
    srv: Server,
    rooms: int,
    per_room: int,
    mode: str,
    inflight: int,
    rate: float,
    members: bool = False,
    more: Sequence[Server] = (),
    side: dict[str, int] | None = None,
    mix: str | None = None,
) -> dict[str, Any]:
    options: list[object] = ["--target", srv.kind, "--rooms", rooms, "--clients-per-room", per_room]
    options += ["--members"] if members else []
    options += ["--mix", mix] if mix else []
    options += ["--mode", mode, "--duration", args.duration, "--drain-idle", args.drain_idle]
    options += ["--body-size", args.body_size, "--users", args.users]
    options += ["--inflight", inflight] if mode == "saturated" else ["--rate", f"{rate:.3f}"]
    result = loadgen(args, "broadcast", srv, options, more, side)
    if "wall_s" in result and result.get("server_cpu_s") is not None:
        result["server_cpu_pct"] = round(100 * result["server_cpu_s"] / result["wall_s"], 1)
    gen, srv_cost = result.get("gen_cpu_us_per_delivery"), result.get("server_cpu_us_per_delivery")
    if gen and srv_cost:
        result["gen_share"] = round(gen / srv_cost, 2)
    return result


def fixed_rate(args: argparse.Namespace, explicit: float | None, saturated: dict[str, Any] | None) -> float:
    if explicit:
        return explicit
    measured = (saturated or {}).get("msgs_per_s") or 0
    return max(1.0, args.rate_fraction * measured) if measured else 50.0


def side_processes() -> dict[str, int]:
    """The local PostgreSQL's postmaster (its backends are its children) and
    redis-server, when they run here: their CPU is read beside the servers'."""
    found = {}
    for name, process in (("postgresql", "postgres"), ("redis", "redis-server")):
        done = subprocess.run(["pgrep", "-o", "-x", process], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            found[name] = int(done.stdout.split()[0])
    return found


def generator_bound(results: dict[str, Any]) -> list[str]:
    """Saturated rows whose generator spent more than GEN_SHARE_MAX of the server's
    CPU per delivery: their throughput measured the generator, so the run fails. (At
    a fixed rate the schedule sets the throughput; the share is reported, and a
    generator that fell behind shows in the send lag and the warnings.)"""
    found = []
    for name, rows in results.items():
        for r in rows if isinstance(rows, list) else ():
            share = r.get("gen_share") if isinstance(r, dict) and r.get("mode") == "saturated" else None
            if share is not None and share > GEN_SHARE_MAX:
                where = " ".join(str(r.get(k)) for k in ("step", "size", "target") if r.get(k))
                found.append(
                    f"{name} {where}: the generator cost {share}× the server's CPU per delivery (> {GEN_SHARE_MAX})"
                )
    return found
