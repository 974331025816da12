"""A replica too far behind, or stopped, is skipped: its reads go to the primary, and
/readyz and /metrics say so (docs/operations.md, "Read replicas")."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator

import pytest

from service.main import State
from service.replicas.standby import Replica
from tests.conftest import Api
from tests.replicas.conftest import caught_up, made_standby
from tests.replicas.helpers import fallbacks, get, replica_reads, send
from tests.replicas.standby import Standby

pytestmark = pytest.mark.slow

BOUND = 0.5  # seconds of lag beyond which the replica is skipped
STATE_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def standby(postgres_url: str) -> Iterator[Standby]:
    """A replica of this module's own: a test here stops it."""
    yield from made_standby()


@pytest.fixture
def max_lag_seconds() -> float:
    return BOUND


async def _until(state: State, settled: object) -> Replica:
    """Lag checks until the replica is in the state `settled` tells."""
    reads = state.routed_reads
    (replica,) = reads.replicas
    async with asyncio.timeout(STATE_TIMEOUT):
        while True:
            await reads.check()
            if settled(replica):  # type: ignore[operator]
                return replica
            await asyncio.sleep(reads.check_seconds / 10)


async def _ready(api: Api) -> dict:
    r = await api.client.get("http://test/readyz")
    assert r.status_code == 200, r.text
    return r.json()


async def _lag_metric(api: Api, name: str) -> float:
    text = (await api.client.get("http://test/metrics")).text
    (line,) = [line for line in text.splitlines() if line.startswith(f'chat_replica_lag_seconds{{replica="{name}"}}')]
    return float(line.rsplit(" ", 1)[1])


async def test_a_replica_behind_by_more_than_the_bound_is_skipped_until_it_catches_up(
    replica_api: Api, replica_state: State, standby: Standby
) -> None:
    alice = await replica_api.user("alice")
    room = await replica_api.room(alice, "general")
    await send(replica_api, alice, room["id"], "before the pause")
    await caught_up(replica_state)
    await standby.pause_replay()
    try:
        await send(replica_api, alice, room["id"], "while paused")
        replica = await _until(replica_state, lambda r: not r.usable(BOUND))
        assert replica.lag_seconds is not None and replica.lag_seconds > BOUND
        skipped, served = fallbacks(replica_state, "none_usable"), replica_reads(replica_state)
        page = await get(replica_api, alice, f"/rooms/{room['id']}/messages")
        assert [m["body"] for m in page["items"]] == ["before the pause", "while paused"]
        assert fallbacks(replica_state, "none_usable") == skipped + 1
        assert replica_reads(replica_state) == served
        shown = (await _ready(replica_api))["replicas"][replica.name]
        assert shown["up"] is True and shown["usable"] is False and shown["lag_seconds"] > BOUND
        assert await _lag_metric(replica_api, replica.name) > BOUND
    finally:
        await standby.resume_replay()
    await caught_up(replica_state)
    served = replica_reads(replica_state)
    await get(replica_api, alice, f"/rooms/{room['id']}/messages")
    assert replica_reads(replica_state) == served + 1
    assert (await _ready(replica_api))["replicas"][replica.name] == {
        "up": True,
        "usable": True,
        "lag_seconds": 0.0,
        "problem": None,
    }


async def test_a_stopped_replica_is_skipped_and_every_read_is_answered(
    replica_api: Api, replica_state: State, standby: Standby
) -> None:
    alice = await replica_api.user("alice")
    room = await replica_api.room(alice, "general")
    await send(replica_api, alice, room["id"], "hello")
    await caught_up(replica_state)
    await asyncio.to_thread(standby.stop)
    try:
        # Its pooled connections are gone: the first read finds out, and the primary answers.
        page = await get(replica_api, alice, f"/rooms/{room['id']}/messages")
        assert [m["body"] for m in page["items"]] == ["hello"]
        assert [m["body"] for m in (await get(replica_api, alice, "/search", q="hello"))["items"]] == ["hello"]
        replica = await _until(replica_state, lambda r: r.problem.startswith("unreachable"))
        shown = (await _ready(replica_api))["replicas"][replica.name]
        assert shown["up"] is False and shown["usable"] is False and shown["lag_seconds"] is None
        assert math.isnan(await _lag_metric(replica_api, replica.name))
        served = replica_reads(replica_state)
        page = await get(replica_api, alice, f"/rooms/{room['id']}/messages")
        assert [m["body"] for m in page["items"]] == ["hello"]
        assert replica_reads(replica_state) == served
    finally:
        await asyncio.to_thread(standby.start)
    await caught_up(replica_state)
