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

from service.auth.security import PasswordHasher
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
            settings = make_settings(database_url, production_hashing=True, **overrides)
            return await stack.enter_async_context(serve(settings))

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


class CheckLog:
    """The passwords the server checks, in the order their checks end."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.started = 0
        self.done: list[str] = []
        check = hasher.verify

        async def verify(password: str, password_hash: str | None) -> bool:
            self.started += 1
            try:
                return await check(password, password_hash)
            finally:
                self.done.append(password)

        hasher.verify = verify


async def test_storm_against_one_account_neither_gets_through_nor_slows_another_user(make_server: Any) -> None:
    # One hash at a time, as on a 2-core machine: a queue of the storm's hashes is
    # one bob would have to wait behind.
    server = await make_server(hash_concurrency=1, login_limit_per_account="50/15 minutes")
    await register(server, "alice", "bob")
    checks = CheckLog(server.state.hasher)
    async with client_from(server, "127.0.0.2") as bob:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=server.http.base_url, limits=limits, timeout=60) as attacker:
            storm = [asyncio.create_task(login(attacker, "alice", f"{WRONG} {i}")) for i in range(200)]
            await wait_until(lambda: checks.started > 0)  # the storm is being checked
            asked = len(checks.done)
            r = await login(bob, "bob")
            codes = [r.status_code for r in await asyncio.gather(*storm)]
    assert r.status_code == 200
    assert codes.count(401) <= 50 and codes.count(401) + codes.count(429) == 200, codes
    # The storm's checks that ended while bob waited for his. Unthrottled, or with
    # logins serialised across accounts, his waits behind the storm's (about 50, or
    # all 200); serialised per account, behind the one in progress, or two.
    waited_for = checks.done[asked : checks.done.index(PASSWORD, asked)]
    assert len(waited_for) <= 5, (len(waited_for), len(checks.done))


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
    received = bytearray()  # what the storage was asked, over every connection

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while data := await reader.read(4096):
            received.extend(data)

    redis_standin = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = redis_standin.sockets[0].getsockname()[1]
    throttle = LoginThrottle(make_settings("sqlite+aiosqlite://", redis_url=f"redis://127.0.0.1:{port}/0"))
    asked: list[int] = []  # bytes the storage had received before each later login, and after

    async def three_logins() -> float:
        start = time.perf_counter()
        async with throttle.attempt("alice", "127.0.0.1"):
            pass
        first = time.perf_counter() - start
        for _ in range(2):
            asked.append(len(received))
            async with throttle.attempt("alice", "127.0.0.1"):
                pass
        asked.append(len(received))
        return first

    logins = asyncio.create_task(three_logins())
    try:
        # Generous: what this catches is a login waiting for an answer that never comes.
        done, _ = await asyncio.wait([logins], timeout=10 * STORAGE_TIMEOUT_SECONDS)
        assert done, "a login waited for the storage far beyond its timeout"
        first = logins.result()
    finally:
        for writer in held:  # a login still waiting for the storage sees it go
            writer.close()
            await writer.wait_closed()
        with contextlib.suppress(Exception):
            await logins
        await throttle.close()
        redis_standin.close()
        await redis_standin.wait_closed()
    # The first login asked the storage and gave up at the timeout, not sooner;
    # the next did not ask it at all (so could not wait for it).
    assert first >= 0.9 * STORAGE_TIMEOUT_SECONDS and asked[0] > 0, (first, asked)
    assert asked[0] == asked[1] == asked[2], asked
    assert caplog.text.count("login throttling unavailable") == 1
