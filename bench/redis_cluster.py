"""Redis's cost on one Redis against a 3-master Redis Cluster (docs/capacity.md,
"What Redis carries"): `bench/redis_cluster.py [bench/run.py's options]`.

Both Redis setups are started here, from this machine's `redis-server`, on free
ports (the cluster without replicas: their replication is not the service's
cost), so no other client's load is counted. For each setup and each count of
service instances (--instance-counts, 1,2,4), the instances run on one fresh
PostgreSQL database as the `instances` scenario runs them (room r's client k on
instance (r + k) mod n, so with rooms of --instances-room-size >= n every
instance holds every room), the generator sends --redis-rate messages a second
for --duration seconds, and each master's CPU is read over the generator's
measurement window (as the `instances` scenario reads PostgreSQL's and Redis's,
from /proc: what INFO CPU's used_cpu_sys + used_cpu_user count): Redis CPU per
message, and per delivery to an instance (a message times the instances
subscribed to its room).

Then presence memory: --presence-rooms rooms x --presence-users users joined
through the service's own presence store on each setup, each master's
used_memory and keys counted before and after.

The machine is shared and noisy: compare the rows of one run with each other."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402
import redis  # noqa: E402
from harness import broadcast, cluster, free_port  # noqa: E402
from run import parse_args  # noqa: E402

from service.presence import create_presence  # noqa: E402
from tests.cluster.nodes import LocalCluster  # noqa: E402


class Single:
    """One standalone redis-server on a free port, as the cluster's nodes are started."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="chat-redis-single-")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            cwd=self.directory,
        )
        LocalCluster._wait(lambda: self.client().ping(), f"redis-server on {self.port}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def masters(self) -> dict[int, int]:
        return {self.port: self.proc.pid}

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _masters(setup: Single | LocalCluster) -> dict[int, int]:
    """port -> pid of each master."""
    if isinstance(setup, Single):
        return setup.masters()
    roles = setup.roles()
    return {n.port: n.proc.pid for n in setup.nodes if roles.get(n.port) == "master"}


def _info(port: int, section: str) -> dict[str, Any]:
    with redis.Redis(port=port, socket_timeout=5) as client:
        return dict(client.info(section))


def _idle_cpu(ports: list[int], seconds: float) -> dict[int, float]:
    """Each master's CPU seconds a second over `seconds` at rest (INFO CPU: microseconds)."""

    def used() -> dict[int, float]:
        return {p: (i := _info(p, "cpu"))["used_cpu_sys"] + i["used_cpu_user"] for p in ports}

    before = used()
    time.sleep(seconds)
    after = used()
    return {p: (after[p] - before[p]) / seconds for p in ports}


def traffic(args: Any, name: str, setup: Single | LocalCluster) -> list[dict[str, Any]]:
    rows = []
    args.redis_url = setup.url
    # The harness drops each run's keys through a single-Redis client; these Redis
    # setups are thrown away whole after the run instead.
    harness.drop_redis_keys = lambda url, prefix: None
    masters = _masters(setup)
    for n in args.instance_counts:
        side = {f"redis{port}": pid for port, pid in masters.items()}
        with cluster(args, n, CHAT_HISTORY_ON_CONNECT="0") as servers:
            first, more = servers[0], servers[1:]
            time.sleep(args.settle)
            idle = _idle_cpu(list(masters), args.duration)
            row = broadcast(
                args, first, args.rooms, args.instances_room_size, "rate", 0, args.redis_rate, more=more, side=side
            )
        sent, wall = row.get("sent") or 0, row.get("wall_s") or 1.0
        spent = {p: (row.get("side_cpu_s") or {}).get(f"redis{p}", 0.0) for p in masters}
        total = sum(spent.values())
        net = total - sum(idle.values()) * wall  # less what the masters spend at rest with these instances
        rows.append(
            {
                "redis": name,
                "instances": n,
                "msgs_per_s": row.get("msgs_per_s"),
                "lost": row.get("lost"),
                "duplicated": row.get("duplicated"),
                "redis_cpu_pct": round(100 * total / wall, 2),
                "redis_idle_cpu_pct": round(100 * sum(idle.values()), 2),
                "redis_net_us_per_message": round(net * 1e6 / sent, 2) if sent else None,
                "redis_net_us_per_delivery": round(net * 1e6 / (sent * min(n, args.instances_room_size)), 2)
                if sent
                else None,
                "redis_us_per_message": round(total * 1e6 / sent, 2) if sent else None,
                "redis_us_per_delivery": round(total * 1e6 / (sent * min(n, args.instances_room_size)), 2)
                if sent
                else None,
                "each_master_us_per_message": [round(spent[p] * 1e6 / sent, 2) for p in masters] if sent else None,
                "error": row.get("error"),
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


async def _join(url: str, rooms: int, users: int) -> None:
    store = create_presence(url, "benchpresence", 600)
    await store.connect()
    try:
        user = b'{"id": 1, "username": "someone-with-a-name", "display_name": null}'
        entries = [(r, u, user) for r in range(1, rooms + 1) for u in range(1, users + 1)]
        for start in range(0, len(entries), 1000):
            await store.refresh(entries[start : start + 1000])
    finally:
        await store.disconnect()


def presence(args: Any, name: str, setup: Single | LocalCluster) -> dict[str, Any]:
    masters = _masters(setup)
    before = {p: _info(p, "memory")["used_memory"] for p in masters}
    asyncio.run(_join(setup.url, args.presence_rooms, args.presence_users))
    after = {p: _info(p, "memory")["used_memory"] for p in masters}
    keys = {p: _info(p, "keyspace").get("db0", {}).get("keys", 0) for p in masters}
    pairs = args.presence_rooms * args.presence_users
    grown = {p: after[p] - before[p] for p in masters}
    row = {
        "redis": name,
        "pairs": pairs,
        "bytes_per_pair": round(sum(grown.values()) / pairs, 1),
        "each_master_mib": [round(grown[p] / 2**20, 2) for p in masters],
        "each_master_keys": [keys[p] for p in masters],
    }
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def main() -> int:
    own = {"--redis-rate": 300.0, "--presence-rooms": 2000, "--presence-users": 5}
    argv, values = list(sys.argv[1:]), dict(own)
    for flag in own:
        if flag in argv:
            i = argv.index(flag)
            values[flag] = type(own[flag])(argv[i + 1])
            del argv[i : i + 2]
    args = parse_args(["--database", "postgresql", *argv])
    args.redis_rate = values["--redis-rate"]
    args.presence_rooms, args.presence_users = values["--presence-rooms"], values["--presence-users"]
    results: dict[str, Any] = {"traffic": [], "presence": []}
    for name, start in (("one Redis", Single), ("3-master cluster", lambda: LocalCluster(3, 0).start())):
        setup = start()
        try:
            results["presence"].append(presence(args, name, setup))
            results["traffic"] += traffic(args, name, setup)
        finally:
            setup.stop()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
