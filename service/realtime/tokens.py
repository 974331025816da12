"""Access tokens this instance has checked, so a socket reconnecting with one skips
the signature check and the database.

An entry goes when its token or login is revoked (the control event reaches every
instance), when the broker reconnects (an event may have been missed), and at the
latest `recheck_seconds` after its check: a revocation whose event was lost holds
for new sockets within that bound (for REST it holds at once). The registry gives
its revocation memory as that bound, so a check that raced a revocation is caught
when the socket is admitted.

Sockets presenting a token not checked yet at the same moment (the tabs of one
login reconnecting after a deploy) share one check."""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from service.auth.security import TokenClaims

MAX_ENTRIES = 50_000


@dataclass(frozen=True, slots=True)
class Bearer:
    """Whom a checked access token names: all a socket keeps of its user."""

    user_id: int
    username: str
    is_admin: bool
    user_json: bytes  # the User object, as frames embed it
    claims: TokenClaims


class CheckedTokens:
    def __init__(self, recheck_seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self._recheck = recheck_seconds
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, Bearer]] = OrderedDict()  # oldest check first
        self._by_key: dict[tuple[str, str], set[str]] = {}  # ("jti" or "family", id) -> tokens
        self._checking: dict[str, asyncio.Future[Bearer]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> Bearer | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        checked_at, bearer = entry
        if checked_at < time.monotonic() - self._recheck or bearer.claims.expires_at <= datetime.now(UTC):
            self._drop(token)
            return None
        return bearer

    async def check(self, token: str, load: Callable[[], Awaitable[Bearer]]) -> Bearer:
        """The bearer of `token`: from a check made lately, or from `load()`, one
        for everyone who asks while it runs (its failure is theirs too)."""
        bearer = self.get(token)
        if bearer is not None:
            return bearer
        checking = self._checking.get(token)
        if checking is None:
            # Its own task: a socket that gives up does not end the others' check.
            self._checking[token] = checking = asyncio.ensure_future(load())
            checking.add_done_callback(functools.partial(self._checked, token))
        return await asyncio.shield(checking)

    def _checked(self, token: str, checking: asyncio.Future[Bearer]) -> None:
        failed = checking.cancelled() or checking.exception() is not None  # retrieved: never unheard
        if self._checking.get(token) is checking:  # else cleared meanwhile: not kept
            del self._checking[token]
            if not failed:
                self.put(token, checking.result())

    def put(self, token: str, bearer: Bearer) -> None:
        self._drop(token)
        self._entries[token] = (time.monotonic(), bearer)
        for key in _keys(bearer.claims):
            self._by_key.setdefault(key, set()).add(token)
        while len(self._entries) > self._max:
            self._drop(next(iter(self._entries)))

    def revoke(self, kind: str, value: str) -> None:
        for token in tuple(self._by_key.get((kind, value), ())):
            self._drop(token)

    def clear(self) -> None:
        self._entries.clear()
        self._by_key.clear()
        self._checking.clear()  # checks under way answer their sockets, and are not kept

    def _drop(self, token: str) -> None:
        entry = self._entries.pop(token, None)
        if entry is None:
            return
        for key in _keys(entry[1].claims):
            tokens = self._by_key.get(key)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._by_key[key]


def _keys(claims: TokenClaims) -> list[tuple[str, str]]:
    keys = [("jti", claims.jti)]
    if claims.family is not None:
        keys.append(("family", claims.family))
    return keys
