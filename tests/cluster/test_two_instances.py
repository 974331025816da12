"""Two `chat-service serve` instances on one PostgreSQL and a Redis Cluster:
the scale-out tests of tests/scale run here against the cluster's fixtures
(conftest.py), and what is particular to a cluster is checked beside them."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import redis
from websockets.asyncio.client import connect

from tests.cluster.nodes import LocalCluster
from tests.conftest import ServiceProcess
from tests.scale import test_live_lists, test_multiplex, test_presence, test_revocation
from tests.scale.conftest import TIMEOUT, login, make_room, synced
from tests.scale.test_login_throttle import fail_logins_on_both
from tests.scale.test_two_instances import (
    test_clients_on_both_instances_see_every_message_once_in_order,
    test_control_events_close_sockets_on_every_instance,
)

pytestmark = pytest.mark.slow

# Collected here too, with this directory's fixtures: on the cluster. Whole modules
# whose tests need nothing of a single Redis, and two tests of another.
globals().update(
    {
        name: test
        for module in (test_live_lists, test_multiplex, test_presence, test_revocation)
        for name, test in vars(module).items()
        if name.startswith("test_")
    }
)
__all__ = [
    "test_clients_on_both_instances_see_every_message_once_in_order",
    "test_control_events_close_sockets_on_every_instance",
]


def _keys(cluster: LocalCluster, pattern: str) -> dict[int, list[bytes]]:
    """Each master's keys matching `pattern`."""
    found = {}
    for port, role in cluster.roles().items():
        if role == "master":
            with redis.Redis(host="127.0.0.1", port=port) as client:
                found[port] = list(client.scan_iter(pattern))
    return found


async def test_failed_login_limit_is_shared_by_instances_on_the_cluster(
    two: tuple[ServiceProcess, ServiceProcess], cluster_env: dict[str, str], redis_cluster: LocalCluster
) -> None:
    a, b = two
    await fail_logins_on_both(a, b)
    keys = _keys(redis_cluster, f"{cluster_env['CHAT_REDIS_PREFIX']}:login:*")
    assert any(keys.values())


async def test_presence_of_rooms_spreads_over_the_masters_and_readyz_reports_the_cluster(
    two: tuple[ServiceProcess, ServiceProcess], cluster_env: dict[str, str], redis_cluster: LocalCluster
) -> None:
    a, b = two
    alice = await login(a.base, "alice")
    rooms = [await make_room(alice, f"room {n}") for n in range(12)]
    sockets = [await connect(alice.ws_url(room, base=(a, b)[n % 2].base)) for n, room in enumerate(rooms)]
    for ws in sockets:
        await synced(ws)
    prefix = cluster_env["CHAT_REDIS_PREFIX"]
    spread = _keys(redis_cluster, f"{prefix}:presence:{{room:*}}:users")
    assert sum(len(keys) for keys in spread.values()) == len(rooms)
    assert sum(1 for keys in spread.values() if keys) >= 2  # 12 rooms' slots on one master of three: unlikely
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        for instance in (a, b):
            r = await http.get(f"{instance.base}/readyz")
            assert r.status_code == 200, r.text
    for ws in sockets:
        await ws.close()
    async with asyncio.timeout(TIMEOUT):
        while sum(len(keys) for keys in _keys(redis_cluster, f"{prefix}:presence:{{room:*}}:users").values()):
            await asyncio.sleep(0.1)  # each leave empties its room's hash
