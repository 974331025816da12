"""Small helpers of the replica tests: sending, reading pages, and what the metrics say."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from service.main import State
from tests.conftest import Api

ATTEMPTS = 50


async def send(api: Api, headers: dict[str, str], room_id: int, body: str, **fields: object) -> dict:
    r = await api.client.post(f"/rooms/{room_id}/messages", json={"body": body, **fields}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def get(api: Api, headers: dict[str, str], path: str, **params: object) -> dict:
    r = await api.client.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def replica_reads(state: State) -> float:
    (replica,) = state.routed_reads.replicas
    value = state.metrics.registry.get_sample_value("chat_replica_reads_total", {"replica": replica.name})
    return value or 0.0


def fallbacks(state: State, reason: str) -> float:
    return state.metrics.registry.get_sample_value("chat_replica_fallbacks_total", {"reason": reason}) or 0.0


async def from_replica(state: State, read: Callable[[], Awaitable[dict]]) -> dict:
    """`read` again until a replica answered it: a read needing the primary's
    position now goes to the primary while the replica is a moment behind, as it
    may be while other databases of the cluster are written."""
    for _ in range(ATTEMPTS):
        before = replica_reads(state)
        answer = await read()
        if replica_reads(state) == before + 1:
            return answer
    raise AssertionError(f"no replica answered in {ATTEMPTS} attempts")


async def on_primary(database_url: str, statement: str, *args: object) -> None:
    """A change straight on the primary that takes no seq: the replica shows it only after replaying it."""
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""), timeout=5)
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()
