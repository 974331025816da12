"""The primary's CPU per history page, read without and then with a read replica.

Makes a database on the machine's PostgreSQL (127.0.0.1:5432) and a streaming
replica of the cluster (the one tests/replicas make), fills one room, and reads
the same history pages (`GET /rooms/{id}/messages?before_seq=…`) through the
service in this process, first with no replica, then with the replica. CPU is
the user + system time in /proc of the PostgreSQL backends serving the bench's
database, on each server: the primary's access checks, the lag checks and the
WAL positions count, the WAL sender does not (it costs per write, not per read).

    .venv/bin/python bench/replica_reads.py [--messages 5000] [--pages 2000]

It prints one JSON line. Needs root or the postgres user (the replica runs as
postgres) and replication allowed from 127.0.0.1 (.ci/run)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import migrate  # noqa: E402
from service.config import Settings  # noqa: E402
from service.main import create_app  # noqa: E402
from tests.replicas.standby import Standby  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TICKS = os.sysconf("SC_CLK_TCK")
PASSWORD = "correct horse battery"


def settings(url: str, replica: str = "") -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        database_replica_urls=replica,
        replica_max_lag_seconds=30,
        secret_key="b" * 48,
        rate_per_second=100000,
        rate_burst=100000,
        files_url=f"/tmp/chat-bench-files-{uuid.uuid4().hex}",
    )


async def backend_cpu(admin_url: str, database: str) -> dict[int, float]:
    """CPU seconds so far of each backend connected to `database`."""
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        pids = [r["pid"] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)]
    finally:
        await conn.close()
    cpu: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return cpu


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


async def fill(client: httpx.AsyncClient, messages: int) -> tuple[int, dict[str, str]]:
    await client.post("/auth/register", json={"username": "reader", "password": PASSWORD})
    token = (await client.post("/auth/token", data={"username": "reader", "password": PASSWORD})).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    room = (await client.post("/rooms", json={"name": "history"}, headers=headers)).json()["id"]
    for start in range(0, messages, 100):
        sends = [
            client.post(f"/rooms/{room}/messages", json={"body": f"message {i} of the bench"}, headers=headers)
            for i in range(start, min(start + 100, messages))
        ]
        for r in await asyncio.gather(*sends):
            assert r.status_code == 201, r.text
    return room, headers


async def measure(
    config: Settings, database: str, standby: Standby, room: int | None, pages: int, messages: int
) -> dict[str, object]:
    app = create_app(config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench/api/v1") as client:
            if room is None:
                room, headers = await fill(client, messages)
            token = (await client.post("/auth/token", data={"username": "reader", "password": PASSWORD})).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            if config.replica_urls:
                while not all(r.usable(30) for r in app.state.routed_reads.replicas):
                    await app.state.routed_reads.check()
            replica_admin = f"postgresql://postgres@127.0.0.1:{standby.port}/postgres"
            rng = random.Random(7)
            cursors = [rng.randint(51, messages) for _ in range(pages)]
            await client.get(f"/rooms/{room}/messages", params={"before_seq": messages}, headers=headers)
            primary_before = await backend_cpu(ADMIN, database)
            replica_before = await backend_cpu(replica_admin, database)
            started = time.perf_counter()
            for before_seq in cursors:
                r = await client.get(f"/rooms/{room}/messages", params={"before_seq": before_seq}, headers=headers)
                assert r.status_code == 200 and len(r.json()["items"]) == 50, r.text
            wall = time.perf_counter() - started
            primary = spent(primary_before, await backend_cpu(ADMIN, database))
            replica = spent(replica_before, await backend_cpu(replica_admin, database))
            served = app.state.metrics.registry.get_sample_value("chat_replica_reads_total", _labels(app)) or 0.0
    return {
        "room": room,
        "primary_us_per_page": round(primary / pages * 1e6, 1),
        "replica_us_per_page": round(replica / pages * 1e6, 1),
        "pages_from_replica": int(served),
        "pages_per_second": round(pages / wall, 1),
    }


def _labels(app: object) -> dict[str, str]:
    replicas = app.state.routed_reads.replicas  # type: ignore[attr-defined]
    return {"replica": replicas[0].name} if replicas else {"replica": ""}


async def run(messages: int, pages: int, standby: Standby, database: str, url: str) -> dict[str, object]:
    without = await measure(settings(url), database, standby, None, pages, messages)
    room = int(without["room"])  # type: ignore[call-overload]
    with_replica = await measure(settings(url, standby.url(database)), database, standby, room, pages, messages)
    again = await measure(settings(url), database, standby, room, pages, messages)
    return {
        "messages": messages,
        "pages": pages,
        "without": without,
        "with_replica": with_replica,
        "without_again": again,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    database = f"chat_bench_{uuid.uuid4().hex[:10]}"
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(ADMIN, timeout=5)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{database}"'))
    standby = Standby()
    try:
        migrate.upgrade(settings(url))
        standby.make()
        print(json.dumps(asyncio.run(run(args.messages, args.pages, standby, database, url))))
    finally:
        standby.remove()
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
