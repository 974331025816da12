"""The read-path tests of history, threads, pins, search and mentions, run against a
service with a streaming replica: whatever the replica has replayed when each read
comes, the answers are the primary's (docs/architecture.md, "Read replicas")."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.config import Settings
from tests.conftest import make_settings
from tests.markers.test_mentions import *  # noqa: F403
from tests.messages.test_history import *  # noqa: F403
from tests.messages.test_pins import *  # noqa: F403
from tests.messages.test_threads import *  # noqa: F403
from tests.realtime.conftest import LiveServer, ServerFactory, serve, server  # noqa: F401
from tests.replicas.conftest import MAX_LAG_SECONDS, database_name
from tests.replicas.standby import Standby
from tests.search.test_search import *  # noqa: F403

pytestmark = pytest.mark.slow


@pytest.fixture
def database_url(emptied: str) -> str:
    return emptied


@pytest.fixture
def settings(database_url: str, standby: Standby) -> Settings:
    replica = standby.url(database_name(database_url))
    return make_settings(database_url, database_replica_urls=replica, replica_max_lag_seconds=MAX_LAG_SECONDS)


@pytest.fixture
async def make_server(settings: Settings) -> AsyncIterator[ServerFactory]:
    """Live servers reading from the replica, as tests/realtime's with the replica's settings."""
    stack = contextlib.AsyncExitStack()

    async def factory(**overrides: Any) -> LiveServer:
        values = {"rate_per_second": 1000, "rate_burst": 1000, **overrides}
        return await stack.enter_async_context(serve(settings.model_copy(update=values)))

    async with stack:
        yield factory
