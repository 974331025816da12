"""A master of the Redis Cluster killed (kill -9) while messages flow between two
instances: its replica takes over, and every reader still sees each message once,
in order. The stall the readers saw is measured and printed, not bounded: the
failover's length is the cluster's (cluster-node-timeout, 2 s here) and the
machine's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.cluster.conftest import started_cluster
from tests.cluster.nodes import LocalCluster
from tests.conftest import ServiceProcess
from tests.scale.conftest import TIMEOUT, login, make_room, send_all, synced

pytestmark = pytest.mark.slow

FAILOVER_TIMEOUT = 90  # the failover, then the instances' catch-up, on a busy machine


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[LocalCluster]:
    """A cluster of this module's own: its test kills masters."""
    yield from started_cluster()


async def _read(ws: ClientConnection, total: int, arrivals: list[tuple[float, int]]) -> None:
    async with asyncio.timeout(FAILOVER_TIMEOUT):
        while len(arrivals) < total:
            frame = orjson.loads(await ws.recv())
            if frame["type"] == "message":
                arrivals.append((time.monotonic(), frame["seq"]))


def _stall(arrivals: list[tuple[float, int]]) -> float:
    """The longest wait between two messages."""
    times = [t for t, _ in arrivals]
    return max(later - earlier for earlier, later in zip(times, times[1:], strict=False))


async def test_a_master_failing_over_while_messages_flow_loses_and_repeats_nothing(
    two: tuple[ServiceProcess, ServiceProcess], cluster_env: dict[str, str], redis_cluster: LocalCluster
) -> None:
    a, b = two
    alice, bob = await login(a.base, "alice"), await login(b.base, "bob")
    room = await make_room(alice, "failover")
    readers = [await connect(bob.ws_url(room)), await connect(alice.ws_url(room))]
    for ws in readers:
        await synced(ws)
    total = 200
    arrivals: list[list[tuple[float, int]]] = [[], []]
    reading = [asyncio.create_task(_read(ws, total, seen)) for ws, seen in zip(readers, arrivals, strict=True)]
    sending = asyncio.create_task(send_all(alice, room, "m", total))
    # Kill the master serving the room's channel once the flow is under way.
    async with asyncio.timeout(TIMEOUT):
        while len(arrivals[0]) < total // 4:
            await asyncio.sleep(0.01)
    channel = f"{cluster_env['CHAT_REDIS_PREFIX']}:room:{room}"
    master = redis_cluster.master_of(channel)
    killed_at = time.monotonic()
    redis_cluster.kill(master)
    promoted = await asyncio.to_thread(redis_cluster.wait_failed_over, master, channel)
    failed_over_at = time.monotonic()
    async with asyncio.timeout(FAILOVER_TIMEOUT):
        await sending
        await asyncio.gather(*reading)
    for seen in arrivals:
        assert [seq for _, seq in seen] == list(range(1, total + 1))
    print(
        f"\nfailover: master {master.port} killed, replica {promoted.port} serving after "
        f"{failed_over_at - killed_at:.1f} s; the other instance's reader stalled at most "
        f"{_stall(arrivals[0]):.1f} s, the sender's instance's {_stall(arrivals[1]):.1f} s"
    )
    for ws in readers:
        await ws.close()
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        for instance in (a, b):
            assert (await _ready(http, instance, lambda r: r.status_code == 200)).json() == {"status": "ok"}
        # Its replica gone too, the slots of that master are served by no one: not ready, and why.
        redis_cluster.kill(promoted)
        r = await _ready(http, a, lambda r: "cluster_state fail" in r.text)
        assert r.status_code == 503 and r.json()["detail"]["broker"] == "cluster_state fail"


async def _ready(
    http: httpx.AsyncClient, instance: ServiceProcess, done: Callable[[httpx.Response], bool]
) -> httpx.Response:
    """/readyz once it answers as `done` wants (the cluster's nodes notice a failure in their own time)."""
    async with asyncio.timeout(FAILOVER_TIMEOUT):
        while not done(r := await http.get(f"{instance.base}/readyz")):
            await asyncio.sleep(0.2)
    return r
