"""The sockets open on this instance: caps, who holds which, and revocations.

One socket counts once against the caps, however many rooms it carries."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator

from service.config import Settings
from service.metrics import Metrics
from service.realtime.closes import RESTARTING, TOKEN_REVOKED, Close
from service.realtime.connection import Connection
from service.realtime.subscription import Subscription
from service.realtime.tokens import CheckedTokens

# How long a revocation is remembered: a socket whose token check passed just before
# the revocation committed, and is admitted after its control event arrived, is still closed.
REVOCATION_MEMORY_SECONDS = 60.0


class Registry:
    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._connections: set[Connection] = set()
        self._by_user: dict[int, set[Connection]] = defaultdict(set)
        self._emptied = asyncio.Event()
        self._revoked: dict[tuple[str, str], float] = {}  # ("jti" or "family", id) -> when
        # A checked token is taken as checked no longer than a revocation is remembered.
        self.tokens = CheckedTokens(recheck_seconds=REVOCATION_MEMORY_SECONDS)
        self.draining = False

    def __len__(self) -> int:
        return len(self._connections)

    def admit(self, conn: Connection) -> bool:
        """Count the connection against the caps; False when a cap is reached."""
        mine = self._by_user[conn.user_id]
        if len(self._connections) >= self._settings.max_connections or (
            len(mine) >= self._settings.max_connections_per_user
        ):
            if not mine:
                del self._by_user[conn.user_id]
            return False
        self._connections.add(conn)
        mine.add(conn)
        self._metrics.connections.set(len(self._connections))
        if ("jti", conn.jti) in self._revoked or ("family", conn.family) in self._revoked:
            conn.close(*TOKEN_REVOKED)
        return True

    def release(self, conn: Connection) -> None:
        self._connections.discard(conn)
        self._metrics.connections.set(len(self._connections))
        if not self._connections:
            self._emptied.set()
        mine = self._by_user.get(conn.user_id)
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self._by_user[conn.user_id]

    def multiplexed(self) -> tuple[Connection, ...]:
        return tuple(c for c in self._connections if c.multiplexed)

    def of_user(self, user_id: int) -> tuple[Connection, ...]:
        return tuple(self._by_user.get(user_id, ()))

    def subscriptions(self, room_id: int, user_id: int | None = None) -> Iterator[Subscription[Connection]]:
        """The room's subscriptions here (of one user, when given)."""
        conns = self._connections if user_id is None else self._by_user.get(user_id, set())
        for conn in tuple(conns):
            sub = conn.subscriptions.get(room_id)
            if sub is not None and not sub.ended:
                yield sub

    def revoke(self, kind: str, value: str, matches: Callable[[Connection], bool]) -> None:
        now = time.monotonic()
        for key in [k for k, at in self._revoked.items() if at < now - REVOCATION_MEMORY_SECONDS]:
            del self._revoked[key]
        self._revoked[(kind, value)] = now
        self.tokens.revoke(kind, value)
        self.close_where(matches, TOKEN_REVOKED)

    def close_where(self, matches: Callable[[Connection], bool], close: Close) -> None:
        for conn in [c for c in self._connections if matches(c)]:
            conn.close(*close)

    async def drain(self, timeout: float) -> None:
        """Close every socket 1012 and refuse new ones; wait for them to go."""
        self.draining = True
        self.close_where(lambda _: True, RESTARTING)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._connections:
                    self._emptied.clear()
                    await self._emptied.wait()
