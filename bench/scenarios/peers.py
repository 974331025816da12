"""Real peers: the service in its default configuration beside chat servers a user
might run instead, in one run: Socket.IO on Node.js (room broadcast, stores
nothing) and Matrix Synapse on SQLite and on PostgreSQL (client-server API: PUT
/send and /sync long-polls). Every server is fresh, pinned to the server core, its
rate limits lifted, and runs the same four steps:

1. latency: a room of --peers-room clients at --peers-rate msg/s (the same for all);
2. fan-out: a room of --peers-fanout clients, saturated;
3. stored: --peers-rooms rooms of one sender, saturated (not Socket.IO: it stores nothing);
4. connect: --peers-connects sockets (Synapse: distinct users' initial /syncs).

Not in the default run (`--scenarios peers`, see bench/README.md)."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator
from typing import Any

from harness import Server, broadcast, loadgen, server, side_processes
from peers import real
from report import good, ratio, row_warnings, table

NAME = "peers"
ROWS = True
PEERS = ("socketio-node", "synapse-sqlite", "synapse-postgresql")
# --targets names: the service, and the peers (synapse: on each of --synapse-databases).
TARGETS = ("socketio-node", "synapse")
STEPS = ("latency", "fanout", "stored", "connect")


def targets(args: argparse.Namespace) -> list[str]:
    found = ["service"] if "service" in args.targets else []
    found += ["socketio-node"] if "socketio-node" in args.targets else []
    if "synapse" in args.targets:
        found += [f"synapse-{db}" for db in args.synapse_databases]
    return found


@contextlib.contextmanager
def started(target: str, args: argparse.Namespace) -> Iterator[tuple[Server, str]]:
    """The target's server, and Synapse's shared secret ("" for the others)."""
    if target == "service":
        with server("service", args) as srv:  # its defaults: history on connect included
            yield srv, ""
    elif target == "socketio-node":
        with real.socketio_node(args) as srv:
            yield srv, ""
    else:
        with real.synapse(args, target.removeprefix("synapse-")) as (srv, secret):
            yield srv, secret


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for target in targets(args):
        try:
            with started(target, args) as (srv, secret):
                for step in STEPS:
                    if step == "stored" and target == "socketio-node":
                        continue
                    row = measure(args, target, srv, secret, step)
                    rows.append({"scenario": NAME, "step": step, **row, "target": target})
                    time.sleep(args.settle)
        except Exception as exc:  # a peer that cannot start fails its rows, not the run
            rows.append({"scenario": NAME, "step": "start", "target": target, "error": f"{type(exc).__name__}: {exc}"})
    return rows


def measure(args: argparse.Namespace, target: str, srv: Server, secret: str, step: str) -> dict[str, Any]:
    size = {"latency": args.peers_room, "fanout": args.peers_fanout, "stored": 1}.get(step, 0)
    rooms = args.peers_rooms if step == "stored" else 1
    if step == "connect":
        if secret:
            options: list[object] = ["connect", "--target", target, "--shared-secret", secret]
            options += ["--connections", args.peers_connects, "--concurrency", 64]
            return loadgen(args, "matrix", srv, [*options, *side(target)])
        kind = "service" if target == "service" else "socketio-node"
        options = ["--target", kind, "--connections", args.peers_connects, "--settle", args.settle]
        return {"size": "1 room", **loadgen(args, "idle", srv, options)}
    mode = "rate" if step == "latency" else "saturated"
    inflight = args.rooms_inflight if step == "stored" else args.fanout_inflight
    label = {"size": f"{rooms}x{size}"}
    if not secret:  # srv.kind is the loadgen's --target: service, socketio-node
        pg = postgresql(target == "service" and args.database == "postgresql")
        result = broadcast(args, srv, rooms, size, mode, inflight, args.peers_rate, side=pg)
        return {**label, **with_postgresql(result)}
    options = ["broadcast", "--target", target, "--shared-secret", secret, "--rooms", rooms]
    options += ["--clients-per-room", size, "--mode", mode, "--duration", args.duration]
    # Synapse's deliveries come seconds late under load: a longer wait before calling them lost.
    options += ["--drain-idle", max(args.drain_idle, 10), "--body-size", args.body_size]
    if mode == "rate":
        options += ["--rate", args.peers_rate]
    else:
        # Storing: the PUT's answer (the event persisted) frees a slot; fan-out: the sender's own /sync.
        options += ["--inflight", inflight, "--window", "response" if step == "stored" else "echo"]
    result = loadgen(args, "matrix", srv, [*options, *side(target)])
    if "wall_s" in result and result.get("server_cpu_s") is not None:
        result["server_cpu_pct"] = round(100 * result["server_cpu_s"] / result["wall_s"], 1)
    gen, cost = result.get("gen_cpu_us_per_delivery"), result.get("server_cpu_us_per_delivery")
    if gen and cost:
        result["gen_share"] = round(gen / cost, 2)
    return {**label, **with_postgresql(result)}


def with_postgresql(result: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL's CPU per delivery, when it was read beside the server's."""
    postgresql = (result.get("side_cpu_s") or {}).get("postgresql")
    if postgresql is not None and result.get("delivered"):
        result["postgresql_cpu_us_per_delivery"] = round(postgresql * 1e6 / result["delivered"], 1)
    return result


def postgresql(used: bool) -> dict[str, int]:
    """The local PostgreSQL's postmaster, whose CPU (its backends run unpinned) is
    read beside the server's when the server uses it."""
    found = side_processes() if used else {}
    return {"postgresql": found["postgresql"]} if "postgresql" in found else {}


def side(target: str) -> list[object]:
    """Synapse's loadgen options for it."""
    return [
        x for name, pid in postgresql(target.endswith("postgresql")).items() for x in ("--side-pid", f"{name}={pid}")
    ]


# (step, metric, label): what each ratio row compares; for a cost or a latency >1 means the service needs more.
METRICS = (
    ("latency", "p50_ms", "send → deliver p50 ms, room of {n}, fixed rate"),
    ("latency", "p99_ms", "send → deliver p99 ms, room of {n}, fixed rate"),
    ("fanout", "deliveries_per_s", "fan-out 1×{n} deliveries/s, saturated"),
    ("fanout", "server_cpu_us_per_delivery", "fan-out 1×{n} server CPU µs/delivery"),
    ("stored", "stored_per_s", "stored msgs/s over {n} rooms, saturated"),
    ("stored", "server_cpu_us_per_message", "server CPU µs per stored message"),
    ("connect", "server_cpu_us_per_connect", "server CPU µs per connect"),
)


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The service's figure ÷ each peer's, same step, same run."""
    by = {(r["target"], r["step"]): r for r in good(rows)}
    out = []
    for step, metric, what in METRICS:
        service = by.get(("service", step), {})
        if service.get(metric) is None:
            continue
        n = {"latency": "room_clients", "fanout": "room_clients", "stored": "rooms"}.get(step, "")
        label = what.format(n=service.get("clients_per_room") if n == "room_clients" else service.get("rooms"))
        row: dict[str, Any] = {"what": f"peers: {label}", "metric": metric, "service": service[metric]}
        for peer in PEERS:
            row[peer] = ratio(service[metric], by.get((peer, step), {}).get(metric))
        out.append(row)
    return out


COLUMNS = [
    ("step", "step"),
    ("target", "server"),
    ("size", "rooms x clients"),
    ("mode", "mode"),
    ("rate_target", "rate msg/s"),
    ("deliveries_per_s", "deliveries/s"),
    ("stored_per_s", "stored msg/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("server_cpu_us_per_delivery", "srv CPU µs/delivery"),
    ("server_cpu_us_per_connect", "srv CPU µs/connect"),
    ("server_cpu_pct", "srv CPU %"),
    ("postgresql_cpu_us_per_delivery", "PostgreSQL CPU µs/delivery"),
    ("gen_share", "gen ÷ srv CPU/delivery"),
    ("others_server_core_pct", "others on srv core %"),
    ("lost", "lost"),
]


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    if not good(rows):
        return []
    found = real.versions()
    head = ", ".join(f"{k} {v}" for k, v in found.items())
    return ["### Real peers", f"Peers: {head}.", table(good(rows), COLUMNS)]


def warnings(rows: list[dict[str, Any]]) -> list[str]:
    found = row_warnings(NAME, [{**r, "size": r.get("step", "")} for r in rows])
    for r in good(rows):
        if r.get("limited_syncs"):
            found.append(f"{NAME} {r['step']} {r['target']}: {r['limited_syncs']} /sync answers left events out")
        if r.get("sync_errors"):
            found.append(f"{NAME} {r['step']} {r['target']}: {r['sync_errors']} /sync requests failed")
    return found
