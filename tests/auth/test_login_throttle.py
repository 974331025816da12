"""Failed logins are throttled per account and per client address, over a real server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from service.auth.throttle import LoginThrottle
from service.errors import TooManyRequests, Unauthorized
from service.userlimits import STORAGE_TIMEOUT_SECONDS
from tests.conftest import PASSWORD, free_port, make_settings
from tests.realtime.conftest import LiveServer, serve, wait_until

WRONG = "not the password"


@pytest.fixture
async def make_server(database_url: str) -> AsyncIterator[Callable[..., Awaitable[LiveServer]]]:
    async with contextlib.AsyncExitStack() as stack:

        async def factory(**overrides: Any) -> LiveServer:
            return await stack.enter_async_context(serve(make_settings(database_url, **overrides)))

        yield factory


@contextlib.asynccontextmanager
async def client_from(server: LiveServer, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose connections come from `address` (another loopback address)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=f"{server.base}/api/v1", transport=transport, timeout=30) as http:
        yield http


async def register(server: LiveServer, *names: str) -> None:
    for name in names:
        r = await server.http.post("/auth/register", json={"username": name, "password": PASSWORD})
        assert r.status_code == 201, r.text


async def login(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await http.post("/auth/token", data={"username": username, "password": password})


async def test_eleventh_wrong_password_is_429_and_so_is_the_right_one_while_locked(make_server: Any) -> None:
    server = await make_server()
    await register(server, "alice", "bob")
    for _ in range(10):
        assert (await login(server.http, "alice", WRONG)).status_code == 401
    for username, password in [("alice", WRONG), ("ALICE", PASSWORD)]:
        r = await login(server.http, username, password)
        assert r.status_code == 429
        assert r.json() == {"detail": "too many failed logins; retry later"}
        assert 1 <= int(r.headers["retry-after"]) <= 15 * 60
    # The address is not locked: another account logs in from it.
    assert (await login(server.http, "bob")).status_code == 200


async def test_unknown_accounts_are_throttled_like_real_ones(make_server: Any) -> None:
    server = await make_server(login_limit_per_account="3/15 minutes")
    for _ in range(3):
        assert (await login(server.http, "nobody", WRONG)).status_code == 401
    assert (await login(server.http, "nobody", WRONG)).status_code == 429


async def test_address_limit_counts_failures_across_accounts(make_server: Any) -> None:
    server = await make_server(login_limit_per_address="5/15 minutes")
    await register(server, "alice", "bob")
    for name in ["alice", "bob", "carol", "dave", "erin"]:
        assert (await login(server.http, name, WRONG)).status_code == 401
    r = await login(server.http, "bob")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    async with client_from(server, "127.0.0.2") as elsewhere:
        assert (await login(elsewhere, "bob")).status_code == 200


async def test_storm_against_one_account_neither_gets_through_nor_slows_another_user(make_server: Any) -> None:
    server = await make_server()
    await register(server, "alice", "bob")
    async with client_from(server, "127.0.0.2") as bob:
        start = time.perf_counter()
        assert (await login(bob, "bob")).status_code == 200
        idle = time.perf_counter() - start
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=server.http.base_url, limits=limits, timeout=60) as attacker:
            storm = [asyncio.create_task(login(attacker, "alice", f"{WRONG} {i}")) for i in range(200)]
            throttle = server.resources.throttle
            await wait_until(lambda: len(throttle.account_locks) > 0)  # the storm is being checked
            start = time.perf_counter()
            r = await login(bob, "bob")
            during = time.perf_counter() - start
            codes = [r.status_code for r in await asyncio.gather(*storm)]
    assert r.status_code == 200
    assert codes.count(401) <= 10 and codes.count(401) + codes.count(429) == 200, codes
    # Unthrottled, bob waited behind the storm's 200 hashes (seconds); now behind at most one.
    assert during < max(1.0, 10 * idle), (during, idle)


def test_limits_are_validated_at_start() -> None:
    for bad in ["often", "10/15 fortnights", "10/minute; 100/day", ""]:
        with pytest.raises(ValidationError):
            make_settings("sqlite+aiosqlite://", login_limit_per_account=bad)
        with pytest.raises(ValidationError):
            make_settings("sqlite+aiosqlite://", login_limit_per_address=bad)


async def test_unreachable_limiter_storage_lets_logins_through(caplog: pytest.LogCaptureFixture) -> None:
    """Fail open: with Redis down, users can still log in (and guesses are not counted)."""
    settings = make_settings(
        "sqlite+aiosqlite://", redis_url=f"redis://127.0.0.1:{free_port()}/0", login_limit_per_account="2/minute"
    )
    throttle = LoginThrottle(settings)
    try:
        with caplog.at_level(logging.WARNING, logger="service.auth"):
            for _ in range(3):
                with pytest.raises(Unauthorized):
                    async with throttle.attempt("alice", "127.0.0.1"):
                        raise Unauthorized("incorrect username or password")
            async with throttle.attempt("alice", "127.0.0.1"):
                pass  # a correct password
    except TooManyRequests:
        pytest.fail("throttled although the limiter's storage is unreachable")
    finally:
        await throttle.close()
    assert "login throttling unavailable" in caplog.text


async def test_hanging_limiter_storage_delays_one_login_by_its_timeout_only(caplog: pytest.LogCaptureFixture) -> None:
    held: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()

    redis_standin = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = redis_standin.sockets[0].getsockname()[1]
    throttle = LoginThrottle(make_settings("sqlite+aiosqlite://", redis_url=f"redis://127.0.0.1:{port}/0"))
    try:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            async with throttle.attempt("alice", "127.0.0.1"):
                pass
            times.append(time.perf_counter() - start)
    finally:
        await throttle.close()
        redis_standin.close()
        for writer in held:
            writer.close()
            await writer.wait_closed()
        await redis_standin.wait_closed()
    # The first waits for the storage timeout; the next skip the storage for a while.
    assert times[0] < 3 * STORAGE_TIMEOUT_SECONDS and max(times[1:]) < 0.2, times
    assert caplog.text.count("login throttling unavailable") == 1
