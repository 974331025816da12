"""A streaming replica of the test PostgreSQL, one per test session, and an app reading from it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from service.main import State, create_app
from tests.conftest import TABLES, Api, _pg, make_settings, require_service, state_of
from tests.replicas.standby import Standby, StandbyError

# Generous: a replica paused for a test must not be skipped for its lag meanwhile.
MAX_LAG_SECONDS = 60.0
CAUGHT_UP_TIMEOUT = 30.0


def made_standby() -> Iterator[Standby]:
    """A new replica, removed afterwards; skipped (failed under CI) where none can be made."""
    replica = Standby()
    try:
        replica.make()
    except (StandbyError, OSError) as exc:
        replica.remove()
        require_service("a streaming replica of PostgreSQL", exc)
    try:
        yield replica
    finally:
        replica.remove()


@pytest.fixture(scope="session")
def standby(postgres_url: str) -> Iterator[Standby]:
    """Shared by the session's tests: each leaves it replaying. A module whose tests stop
    or promote it overrides this fixture with a replica of its own (`made_standby`)."""
    yield from made_standby()


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def caught_up(state: State) -> None:
    """Until every replica is usable and has replayed the primary's position now."""
    reads = state.routed_reads
    async with asyncio.timeout(CAUGHT_UP_TIMEOUT):
        while True:
            await reads.check()
            bound = state.settings.replica_max_lag_seconds
            if all(r.usable(bound) and r.lag_seconds == 0 for r in reads.replicas):
                return
            await asyncio.sleep(reads.check_seconds / 10)


@pytest.fixture
def emptied(postgres_url: str) -> str:
    """The run's PostgreSQL database, emptied for the test."""
    _pg(postgres_url.replace("+asyncpg", ""), f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    return postgres_url


@pytest.fixture
def max_lag_seconds() -> float:
    """CHAT_REPLICA_MAX_LAG_SECONDS of the test's app; a module may set its own."""
    return MAX_LAG_SECONDS


@pytest.fixture
async def replica_app(emptied: str, standby: Standby, max_lag_seconds: float) -> AsyncIterator[FastAPI]:
    postgres_url = emptied
    await standby.resume_replay()
    settings = make_settings(
        postgres_url,
        database_replica_urls=standby.url(database_name(postgres_url)),
        replica_max_lag_seconds=max_lag_seconds,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await caught_up(state_of(app))
        yield app


@pytest.fixture
def replica_state(replica_app: FastAPI) -> State:
    return state_of(replica_app)


@pytest.fixture
async def replica_api(replica_app: FastAPI, replica_state: State) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=replica_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        yield Api(client, replica_state)
