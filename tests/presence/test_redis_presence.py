"""The Redis presence store against a real Redis: several instances, expiry, typing throttle."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from service.presence.redis import RedisPresence
from tests.conftest import REDIS_URL

ALICE = b'{"id":1,"username":"alice"}'
BOB = b'{"id":2,"username":"bob"}'


@pytest.fixture
async def instances(redis_prefix: str) -> AsyncIterator[Callable[[float], RedisPresence]]:
    prefix = f"{redis_prefix}-{uuid.uuid4().hex[:6]}"
    made: list[RedisPresence] = []

    def make(ttl: float = 20.0) -> RedisPresence:
        made.append(RedisPresence(REDIS_URL, prefix, ttl))
        return made[-1]

    yield make
    for store in made:
        await store.disconnect()


async def test_a_user_is_announced_once_across_instances(instances: Callable[[float], RedisPresence]) -> None:
    a, b = instances(20), instances(20)
    assert await a.join(7, 1, ALICE) is True
    assert await b.join(7, 1, ALICE) is False  # online already, through a
    assert await b.join(7, 2, BOB) is True
    assert sorted(await a.online(7)) == sorted([ALICE, BOB])
    assert await a.online(8) == []
    assert await a.leave(7, 1) is None  # still on b
    assert await b.leave(7, 1) == ALICE
    assert await b.leave(7, 1) is None  # announced once
    assert await b.online(7) == [BOB]


async def test_a_stopped_instance_s_users_leave_after_the_ttl(instances: Callable[[float], RedisPresence]) -> None:
    # Long enough that a loaded machine still sweeps once before it runs out.
    crashed, survivor = instances(2.0), instances(2.0)
    assert await crashed.join(7, 1, ALICE) is True
    assert await survivor.join(7, 2, BOB) is True
    assert await survivor.sweep() == []
    left: list[tuple[int, int, bytes]] = []
    async with asyncio.timeout(10):
        while not left:
            # The survivor keeps its own entries alive; the crashed one does not.
            assert await survivor.refresh([(7, 2, BOB)]) == []
            left = await survivor.sweep()
            await asyncio.sleep(0.05)
    assert left == [(7, 1, ALICE)]
    assert await survivor.online(7) == [BOB]
    assert await survivor.sweep() == []  # announced once
    # An instance that comes back (a long pause, say) is announced again on refresh.
    assert await crashed.refresh([(7, 1, ALICE)]) == [(7, 1, ALICE)]
    assert sorted(await survivor.online(7)) == sorted([ALICE, BOB])


async def test_typing_is_throttled_per_user_and_room(instances: Callable[[float], RedisPresence]) -> None:
    a, b = instances(20), instances(20)
    assert await a.allow_typing(7, 1) is True
    assert await b.allow_typing(7, 1) is False  # same user, other instance, within 2 s
    assert await b.allow_typing(7, 2) is True
    assert await b.allow_typing(8, 1) is True


async def test_a_user_back_before_the_sweep_is_announced(instances: Callable[[float], RedisPresence]) -> None:
    """Their crashed instance's entry expired but is not swept yet: clients that came
    meanwhile were told the user is offline, so the return is a join."""
    crashed, other = instances(0.3), instances(20)
    assert await crashed.join(7, 1, ALICE) is True
    async with asyncio.timeout(5):
        while await other.online(7):
            await asyncio.sleep(0.05)
    assert await other.join(7, 1, ALICE) is True
    assert await other.sweep() == []  # the expired entry goes, the user stays
    assert await other.online(7) == [ALICE]
