"""Failed-login throttling per account and per client address.

Failures are counted in moving windows by the `limits` library: in memory, or in
Redis when CHAT_REDIS_URL is set, so every instance sees the same counts. A login
is refused (429) before its password is checked when either window is full.

Within an instance, password checks are serialised per account and per address:
without it, a burst of concurrent guesses would all pass the test before the first
failure is counted, and all be hashed. So one storm occupies at most one hash at a
time, and another account's login waits behind at most that one."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter

from service.config import Settings
from service.errors import TooManyRequests, Unauthorized
from service.userlimits import FailOpen, limiter_storage

log = logging.getLogger("service.auth")

TOO_MANY_FAILURES = "too many failed logins; retry later"
# Usernames are at most 32 characters; a longer name cannot exist, and is cut to bound the key.
MAX_ACCOUNT_KEY = 64

T = TypeVar("T")


@dataclass(slots=True)
class _Held:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class KeyedLocks:
    """An asyncio lock per key, kept only while someone holds or waits for it: the
    dict never outgrows the logins in flight."""

    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}

    def __len__(self) -> int:
        return len(self._held)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        held = self._held.setdefault(key, _Held())
        held.users += 1
        try:
            async with held.lock:
                yield
        finally:
            held.users -= 1
            if held.users == 0:
                del self._held[key]


class LoginThrottle:
    def __init__(self, settings: Settings) -> None:
        self._limits: dict[str, RateLimitItem] = {
            "account": parse(settings.login_limit_per_account),
            "address": parse(settings.login_limit_per_address),
        }
        self._storage, self._close = limiter_storage(settings, "login")
        self._limiter = MovingWindowRateLimiter(self._storage)
        self.account_locks = KeyedLocks()
        self.address_locks = KeyedLocks()
        self._guard = FailOpen("login throttling")

    async def close(self) -> None:
        if self._close is not None:
            await self._close()

    @asynccontextmanager
    async def attempt(self, username: str, address: str) -> AsyncIterator[None]:
        """Guard one password check: 429 (TooManyRequests) while either window is
        full; an Unauthorized raised inside counts as a failure for both. The account
        key is the lower-cased name whether or not the user exists (no enumeration)."""
        keys = {"account": username.lower()[:MAX_ACCOUNT_KEY], "address": address}
        await self._refuse_when_exhausted(keys)  # a refused storm does not queue on the locks
        # Always account before address, so two logins never wait for each other's lock.
        async with self.account_locks.hold(keys["account"]), self.address_locks.hold(keys["address"]):
            await self._refuse_when_exhausted(keys)  # failures counted while this one waited
            try:
                yield
            except Unauthorized:
                for kind, key in keys.items():
                    await self._guard.call(self._limiter.hit(self._limits[kind], kind, key), True)
                raise

    async def _refuse_when_exhausted(self, keys: dict[str, str]) -> None:
        retry_after = 0
        for kind, key in keys.items():
            stats = await self._guard.call(self._limiter.get_window_stats(self._limits[kind], kind, key), None)
            if stats is not None and stats.remaining <= 0:
                retry_after = max(retry_after, math.ceil(stats.reset_time - time.time()), 1)
        if retry_after:
            raise TooManyRequests(TOO_MANY_FAILURES, retry_after)
