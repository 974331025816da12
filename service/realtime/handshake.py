"""Who may open a socket: origin, token, caps. Both endpoints check the same way.

The socket is accepted first and refused with a close frame, since a close before
accept reaches real clients as HTTP 403 with no code."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from fastapi import WebSocket

from service.auth.security import TokenError
from service.auth.service import user_for_access_token
from service.paging import MAX_DB_INT, MAX_SEQ
from service.realtime import protocol, server_frames
from service.realtime.closes import INVALID_SINCE, ORIGIN_NOT_ALLOWED, RESTARTING, TOO_MANY, Close, policy
from service.realtime.connection import Connection
from service.realtime.tokens import Bearer
from service.resources import Resources


class Rejected(Exception):
    """The socket closes with `close` (before or after it was admitted)."""

    def __init__(self, close: Close) -> None:
        super().__init__(close[1])
        self.close = close


def check_origin(websocket: WebSocket, resources: Resources) -> None:
    if not _origin_allowed(websocket, resources.settings.origins):
        raise Rejected(ORIGIN_NOT_ALLOWED)


async def authenticate(websocket: WebSocket, resources: Resources) -> Bearer:
    """The token, from `?token=` or a `chat.token.<token>` subprotocol offer; a
    token this instance checked lately is taken as checked (tokens.py)."""
    token = websocket.query_params.get("token") or protocol.offered_token(websocket.scope["subprotocols"])
    if not token:
        return await _check(resources, token)
    return await resources.hub.registry.tokens.check(token, functools.partial(_check, resources, token))


async def _check(resources: Resources, token: str | None) -> Bearer:
    async with resources.reads() as session:
        try:
            user, claims = await user_for_access_token(session, resources.codec, token)
        except TokenError as exc:
            raise Rejected(policy(exc.reason)) from None
    return Bearer(user.id, user.username, user.is_admin, server_frames.encode_user(user), claims)


def room_id(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_DB_INT else None


def admit(websocket: WebSocket, resources: Resources, bearer: Bearer, *, binary: bool, multiplexed: bool) -> Connection:
    """The connection, counted against the caps."""
    conn = Connection(
        websocket,
        bearer,
        resources.settings.send_queue,
        queue_bytes=resources.settings.send_queue_bytes,
        binary=binary,
        multiplexed=multiplexed,
    )
    if resources.hub.registry.draining:
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
