"""Who may open a socket: origin, token, caps. Both endpoints check the same way.

The socket is accepted first and refused with a close frame, since a close before
accept reaches real clients as HTTP 403 with no code."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import WebSocket

from service.auth.models import User
from service.auth.security import TokenClaims, TokenError
from service.auth.service import user_for_access_token
from service.paging import MAX_DB_INT, MAX_SEQ
from service.realtime import frames, protocol
from service.realtime.closes import INVALID_SINCE, ORIGIN_NOT_ALLOWED, RESTARTING, TOO_MANY, Close, policy
from service.realtime.connection import Connection
from service.resources import Resources


class Rejected(Exception):
    """The socket closes with `close` (before or after it was admitted)."""

    def __init__(self, close: Close) -> None:
        super().__init__(close[1])
        self.close = close


def check_origin(websocket: WebSocket, resources: Resources) -> None:
    if not _origin_allowed(websocket, resources.settings.origins):
        raise Rejected(ORIGIN_NOT_ALLOWED)


async def authenticate(websocket: WebSocket, resources: Resources) -> tuple[User, TokenClaims]:
    """The token, from `?token=` or a `chat.token.<token>` subprotocol offer."""
    token = websocket.query_params.get("token") or protocol.offered_token(websocket.scope["subprotocols"])
    async with resources.sessionmaker() as session:
        try:
            return await user_for_access_token(session, resources.codec, token)
        except TokenError as exc:
            raise Rejected(policy(exc.reason)) from None


def room_id(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_DB_INT else None


def admit(
    websocket: WebSocket, resources: Resources, user: User, claims: TokenClaims, *, binary: bool, multiplexed: bool
) -> Connection:
    """The connection, counted against the caps. Nothing of the user's ORM row
    outlives this: an idle connection keeps only what it needs."""
    conn = Connection(
        websocket,
        user,
        frames.encode_user(user),
        claims,
        resources.settings.send_queue,
        binary=binary,
        multiplexed=multiplexed,
    )
    if resources.hub.draining:
        raise Rejected(RESTARTING)
    if not resources.hub.registry.admit(conn):
        raise Rejected(TOO_MANY)
    return conn


def parse_since(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_SEQ:
        raise Rejected(INVALID_SINCE)
    return int(raw)


def _origin_allowed(websocket: WebSocket, allowed: frozenset[str]) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    origin = origin.rstrip("/")
    if origin in allowed:
        return True
    host = websocket.headers.get("host")
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()
