"""Failed logins are counted in Redis: every instance refuses once the account's limit is reached."""

from __future__ import annotations

import httpx
import pytest
import redis

from tests.conftest import PASSWORD, REDIS_URL, ServiceProcess
from tests.scale.conftest import TIMEOUT

pytestmark = pytest.mark.slow


async def fail_logins_on_both(a: ServiceProcess, b: ServiceProcess) -> None:
    """Ten failed logins of one account, half on each instance; then both refuse it."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        r = await http.post(f"{a.base}/api/v1/auth/register", json={"username": "alice", "password": PASSWORD})
        assert r.status_code == 201
        for i in range(10):  # the default: 10 failures per account per 15 minutes, five on each
            base = (a, b)[i % 2].base
            r = await http.post(f"{base}/api/v1/auth/token", data={"username": "alice", "password": "wrong one"})
            assert r.status_code == 401
        for instance in (a, b):
            r = await http.post(f"{instance.base}/api/v1/auth/token", data={"username": "alice", "password": PASSWORD})
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_failed_login_limit_is_shared_by_instances(
    two: tuple[ServiceProcess, ServiceProcess], cluster_env: dict[str, str]
) -> None:
    a, b = two
    await fail_logins_on_both(a, b)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert list(client.scan_iter(f"{cluster_env['CHAT_REDIS_PREFIX']}:login:*"))
    finally:
        client.close()
