"""Per-user limits on costly actions: searches, rooms and direct conversations created,
user directory lookups, messages sent over REST, files uploaded.

Each action has a moving window (the `limits` library's notation, from settings),
counted in memory, or in Redis when CHAT_REDIS_URL is set so every instance shares
the counts. Over it, 429 with Retry-After. With Redis down the action goes on
(fail open), as login throttling does: a limit must not take the service down."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.aio.storage import MemoryStorage, RedisClusterStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from service.config import Settings
from service.errors import TooManyRequests

log = logging.getLogger("service.limits")
T = TypeVar("T")

# A limiter call waits at most this long for Redis; past it the action goes on unlimited.
STORAGE_TIMEOUT_SECONDS = 1.0
# After a storage failure, actions skip the limiter this long rather than each waiting for the timeout.
STORAGE_RETRY_SECONDS = 5.0


class Action(StrEnum):
    SEARCH = "search"
    CREATE_ROOM = "create_room"
    OPEN_DM = "open_dm"
    LOOK_UP_USERS = "look_up_users"
    SEND_MESSAGE = "send_message"  # over REST; a socket has its own bucket
    UPLOAD_FILE = "upload_file"


_REFUSALS = {
    Action.SEARCH: "too many searches; retry later",
    Action.CREATE_ROOM: "too many rooms created; retry later",
    Action.OPEN_DM: "too many direct conversations opened; retry later",
    Action.LOOK_UP_USERS: "too many user lookups; retry later",
    Action.SEND_MESSAGE: "sending too fast; retry later",
    Action.UPLOAD_FILE: "too many files uploaded; retry later",
}


def send_rate(per_second: float, burst: int) -> RateLimitItem:
    """A socket's token bucket (CHAT_RATE_PER_SECOND, CHAT_RATE_BURST) as a moving
    window: `burst` at once, then `per_second` on average, in whole seconds."""
    seconds = max(1, math.ceil(burst / per_second))
    return RateLimitItemPerSecond(max(burst, math.floor(per_second * seconds)), seconds)


def limiter_storage(settings: Settings, name: str) -> tuple[Storage, Callable[[], Awaitable[None]] | None]:
    """A `limits` storage for one kind of count, and how to close it. Redis keys
    are "<CHAT_REDIS_PREFIX>:<name>:…"."""
    if not settings.redis_url:
        return MemoryStorage(), None
    from service.redis_client import is_cluster

    if is_cluster(settings.redis_url):
        # The library's cluster storage, on redis-py's RedisCluster (limits reads
        # the nodes from the URL). A moving window is one key: any slot will do.
        cluster = RedisClusterStorage(
            "async+" + settings.redis_url,
            implementation="redispy",
            key_prefix=f"{settings.redis_prefix}:{name}",
            wrap_exceptions=True,
            socket_timeout=STORAGE_TIMEOUT_SECONDS,
            socket_connect_timeout=STORAGE_TIMEOUT_SECONDS,
            client_name=f"{settings.redis_prefix}-{name}",
        )
        client: Any = cluster.bridge.__dict__["storage"]  # the bridge's RedisCluster, untyped there
        return cluster, client.aclose
    import redis.asyncio as aioredis

    pool = aioredis.ConnectionPool.from_url(
        settings.redis_url,
        socket_timeout=STORAGE_TIMEOUT_SECONDS,
        socket_connect_timeout=STORAGE_TIMEOUT_SECONDS,
        client_name=f"{settings.redis_prefix}-{name}",
    )
    # redis-py rather than coredis: already our Redis client.
    storage = RedisStorage(
        "async+" + settings.redis_url,
        implementation="redispy",
        key_prefix=f"{settings.redis_prefix}:{name}",
        wrap_exceptions=True,
        connection_pool=pool,  # type: ignore[arg-type]  # passed through to redis-py; typed as plain options
    )
    return storage, pool.aclose


def _storage_errors() -> tuple[type[Exception], ...]:
    """What a storage raises when it is away: the library wraps redis-py's
    RedisError, not its cluster errors (a cluster no node of which answers)."""
    try:
        from redis.exceptions import RedisClusterException
    except ImportError:  # without the scale extra: no Redis storage either
        return (StorageError, OSError, TimeoutError)
    return (StorageError, RedisClusterException, OSError, TimeoutError)


STORAGE_ERRORS = _storage_errors()


class FailOpen:
    """Calls to a limiter's storage that give way while it is down: with Redis
    unreachable, the action goes on rather than every user being refused, and for
    STORAGE_RETRY_SECONDS the storage is not asked (no one waits for its timeout)."""

    def __init__(self, what: str) -> None:
        self._what = what  # for the log: "login throttling", "per-user limits"
        self._down_until = 0.0

    async def call(self, call: Coroutine[Any, Any, T], fallback: T) -> T:
        if time.monotonic() < self._down_until:
            call.close()  # never awaited: close it, or Python warns
            return fallback
        try:
            async with asyncio.timeout(STORAGE_TIMEOUT_SECONDS):
                return await call
        except STORAGE_ERRORS as exc:
            self._down_until = time.monotonic() + STORAGE_RETRY_SECONDS
            log.warning(
                "%s unavailable for %.0f s, letting everything through: %s: %s",
                self._what,
                STORAGE_RETRY_SECONDS,
                type(exc).__name__,
                exc,
            )
            return fallback


class UserLimits:
    def __init__(self, settings: Settings) -> None:
        self._limits: dict[Action, RateLimitItem] = {
            Action.SEARCH: parse(settings.search_limit_per_user),
            Action.CREATE_ROOM: parse(settings.room_create_limit_per_user),
            Action.OPEN_DM: parse(settings.dm_create_limit_per_user),
            Action.LOOK_UP_USERS: parse(settings.user_lookup_limit_per_user),
            Action.SEND_MESSAGE: send_rate(settings.rate_per_second, settings.rate_burst),
            Action.UPLOAD_FILE: parse(settings.file_upload_limit_per_user),
        }
        self._storage, self._close = limiter_storage(settings, "user")
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._guard = FailOpen("per-user limits")

    async def close(self) -> None:
        if self._close is not None:
            await self._close()

    async def spend(self, action: Action, user_id: int) -> None:
        """Count one `action` of the user, or refuse it (TooManyRequests) when the
        window is full; a refused attempt is not counted."""
        item, key = self._limits[action], str(user_id)
        if await self._guard.call(self._limiter.hit(item, action.value, key), True):
            return
        stats = await self._guard.call(self._limiter.get_window_stats(item, action.value, key), None)
        if stats is not None:
            raise TooManyRequests(_REFUSALS[action], max(1, math.ceil(stats.reset_time - time.time())))


def _user_limits(request: Request) -> UserLimits:
    limits: UserLimits = request.app.state.user_limits
    return limits


UserLimitsDep = Annotated[UserLimits, Depends(_user_limits)]
