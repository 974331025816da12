"""The real peers the runner installs and starts beside the service: Matrix Synapse
(PyPI) on SQLite or on a fresh PostgreSQL database, and Socket.IO on Node.js (npm).

Synapse goes into a venv of its own under bench/.peers/ (git-ignored), pinned to
SYNAPSE_VERSION: installed into the project's venv it would downgrade packages the
service itself uses (cryptography). Socket.IO is installed with `npm ci` from
bench/peers/socketio-node/package-lock.json into bench/.peers/socketio-node/.
Both run pinned to the server core like every other server."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from harness import BENCH, SERVER_LIFETIME_S, Server, _die_with_parent, _workdir, free_port, pg_admin, stop, tail

SYNAPSE_VERSION = "1.163.2"
PEERS_DIR = BENCH / ".peers"
SYNAPSE_VENV = PEERS_DIR / f"synapse-{SYNAPSE_VERSION}"
NODE_SOURCE = BENCH / "peers" / "socketio-node"
NODE_DIR = PEERS_DIR / "socketio-node"
# The interpreter the project's venv was made from: Synapse's venv uses the same one.
BASE_PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")
SERVER_NAME = "bench.localhost"
UNLIMITED = {"per_second": 1_000_000, "burst_count": 1_000_000}
# Every rate limit the client-server API applies, lifted as the service's are.
RATE_LIMITS = {
    "rc_message": UNLIMITED,
    "rc_registration": UNLIMITED,
    "rc_registration_token_validity": UNLIMITED,
    "rc_login": {"address": UNLIMITED, "account": UNLIMITED, "failed_attempts": UNLIMITED},
    "rc_joins": {"local": UNLIMITED, "remote": UNLIMITED},
    "rc_joins_per_room": UNLIMITED,
    "rc_invites": {"per_room": UNLIMITED, "per_user": UNLIMITED, "per_issuer": UNLIMITED},
    "rc_room_creation": UNLIMITED,
    "rc_presence": {"per_user": UNLIMITED},
    "rc_admin_redaction": UNLIMITED,
    "rc_3pid_validation": UNLIMITED,
    "rc_third_party_invite": UNLIMITED,
    "rc_delayed_event_mgmt": UNLIMITED,
    "rc_reports": UNLIMITED,
    "rc_media_create": UNLIMITED,
}


def progress(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------- installs


def synapse_python() -> str:
    """Synapse's interpreter, its venv made and filled on first use."""
    python = SYNAPSE_VENV / "bin" / "python"
    marker = SYNAPSE_VENV / ".installed"
    if not marker.exists():
        progress(f"installing matrix-synapse {SYNAPSE_VERSION} into {SYNAPSE_VENV}")
        shutil.rmtree(SYNAPSE_VENV, ignore_errors=True)
        subprocess.run([BASE_PYTHON, "-m", "venv", str(SYNAPSE_VENV)], check=True)
        # psycopg2-binary: Synapse's PostgreSQL driver without building it against libpq.
        pip = [str(SYNAPSE_VENV / "bin" / "pip"), "install", "--quiet"]
        subprocess.run([*pip, f"matrix-synapse=={SYNAPSE_VERSION}", "psycopg2-binary"], check=True)
        marker.write_text(SYNAPSE_VERSION + "\n")
    return str(python)


def node_modules() -> Path:
    """bench/.peers/socketio-node/node_modules, installed with `npm ci` from the
    committed lock file whenever that file changed."""
    lock = (NODE_SOURCE / "package-lock.json").read_bytes()
    installed = NODE_DIR / "package-lock.json"
    if not installed.exists() or installed.read_bytes() != lock or not (NODE_DIR / "node_modules").is_dir():
        progress(f"npm ci of socket.io into {NODE_DIR}")
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copy(NODE_SOURCE / "package.json", NODE_DIR / "package.json")
        installed.write_bytes(lock)
        subprocess.run(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    return NODE_DIR / "node_modules"


def versions() -> dict[str, str]:
    """The peers' versions as installed (empty for one not installed yet)."""
    found = {}
    with contextlib.suppress(OSError, ValueError, KeyError):
        found["matrix-synapse"] = (SYNAPSE_VENV / ".installed").read_text().strip()
    with contextlib.suppress(OSError, ValueError, KeyError):
        package = json.loads((NODE_DIR / "node_modules" / "socket.io" / "package.json").read_text())
        found["socket.io"] = package["version"]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return found


# --------------------------------------------------------------------- servers


@contextlib.contextmanager
def socketio_node(args: argparse.Namespace) -> Iterator[Server]:
    modules = node_modules()
    with contextlib.ExitStack() as stack:
        workdir = _workdir(stack, args, "socketio-node")
        env = {**os.environ, "NODE_PATH": str(modules), "NODE_ENV": "production"}
        cmd = ["node", str(NODE_SOURCE / "server.js"), "--max-seconds", str(SERVER_LIFETIME_S)]
        yield stack.enter_context(launch("socketio-node", args, workdir, cmd, env, "/healthz"))


@contextlib.contextmanager
def synapse(args: argparse.Namespace, database: str) -> Iterator[tuple[Server, str]]:
    """Synapse on a fresh SQLite file or PostgreSQL database (dropped afterwards),
    its config generated, then overridden: rate limits lifted, registration by the
    shared secret, logging at WARNING like the service's. Yields the server and the
    shared secret."""
    python = synapse_python()
    with contextlib.ExitStack() as stack:
        workdir = _workdir(stack, args, f"synapse-{database}")
        base = workdir / "homeserver.yaml"
        generate = [python, "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME, "--config-path", str(base)]
        generate += ["--data-directory", str(workdir), "--generate-config", "--report-stats=no"]
        subprocess.run(generate, cwd=workdir, check=True, capture_output=True)
        log_config = workdir / f"{SERVER_NAME}.log.config"
        log_config.write_text(log_config.read_text().replace("level: INFO", "level: WARNING"))
        secret = secrets.token_hex(16)
        port = free_port()
        overrides = {
            "listeners": [
                {
                    "port": port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": stack.enter_context(synapse_database(args, database, workdir)),
            "registration_shared_secret": secret,
            "enable_registration": False,
            # Only registration hashes a password here: not measured, and 12 rounds cost 0.25 s a user.
            "bcrypt_rounds": 4,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "report_stats": False,
            **RATE_LIMITS,
        }
        extra = workdir / "bench.yaml"
        extra.write_text(json.dumps(overrides, indent=1))  # JSON is YAML
        cmd = [python, "-m", "synapse.app.homeserver", "--config-path", str(base), "--config-path", str(extra)]
        srv = stack.enter_context(launch(f"synapse-{database}", args, workdir, cmd, dict(os.environ), "/health", port))
        yield srv, secret


@contextlib.contextmanager
def synapse_database(args: argparse.Namespace, database: str, workdir: Path) -> Iterator[dict[str, object]]:
    if database == "sqlite":
        yield {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}}
        return
    name = f"synapse_bench_{os.getpid()}_{secrets.token_hex(4)}"
    # Synapse wants C collation (its docs' CREATE DATABASE).
    pg_admin(args.pg_url, f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
    url = urlsplit(args.pg_url)
    try:
        yield {
            "name": "psycopg2",
            "args": {
                "user": url.username or "postgres",
                "password": url.password or "",
                "host": url.hostname or "127.0.0.1",
                "port": url.port or 5432,
                "database": name,
                "cp_min": 5,
                "cp_max": 10,
            },
        }
    finally:
        if args.keep_logs:
            progress(f"PostgreSQL database kept: {name}")
        else:
            pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def launch(
    kind: str,
    args: argparse.Namespace,
    workdir: Path,
    cmd: list[str],
    env: dict[str, str],
    health: str,
    port: int | None = None,
) -> Iterator[Server]:
    """cmd started in workdir pinned to the server core (with --port unless the
    port is in its config), ready once `health` answers 200; stopped on exit."""
    if port is None:
        port = free_port()
        cmd = [*cmd, "--port", str(port)]
    log = workdir / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["taskset", "-c", str(args.server_core), *cmd],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    srv = Server(kind, port, proc, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{kind} exited with {proc.returncode}: {tail(log)}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{health}", timeout=2) as r:
                    if r.status == 200:
                        break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} not ready after 120 s: {tail(log)}")
            time.sleep(0.2)
        yield srv
    finally:
        stop(srv)
