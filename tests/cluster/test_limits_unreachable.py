"""Per-user limits and login throttling fail open on a Redis Cluster that does not
answer, as on one Redis that does not (docs/operations.md, "On a Redis Cluster")."""

from __future__ import annotations

import socket

from service.userlimits import Action, UserLimits
from tests.conftest import make_settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once closed


async def test_an_unreachable_cluster_lets_actions_through() -> None:
    settings = make_settings("sqlite+aiosqlite://", redis_url=f"redis+cluster://127.0.0.1:{_closed_port()}")
    limits = UserLimits(settings)
    try:
        await limits.spend(Action.SEARCH, 1)  # no 429, no error: the action goes on
        await limits.spend(Action.SEARCH, 1)
    finally:
        await limits.close()
