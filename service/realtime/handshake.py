"""Who may open a socket: origin, token, caps. Both endpoints check the same way.

The socket is accepted first and refused with a close frame, since a close before
accept reaches real clients as HTTP 403 with no code."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import WebSocket
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.auth.security import TokenCodec, TokenError
from service.auth.service import user_for_access_token
from service.config import Settings
from service.paging import MAX_DB_INT, MAX_SEQ
from service.realtime import protocol, server_frames
from service.realtime.closes import INVALID_SINCE, ORIGIN_NOT_ALLOWED, RESTARTING, TOO_MANY, Close, policy
from service.realtime.connection import Connection
from service.realtime.registry import Registry
from service.realtime.tokens import Bearer


@dataclass(frozen=True, slots=True)
class Gate:
    """What deciding who may open a socket takes."""

    settings: Settings  # the origins allowed, each socket's queue bounds
    registry: Registry  # the caps, draining, the tokens checked lately
    reads: async_sessionmaker[AsyncSession]
    codec: TokenCodec


class Rejected(Exception):
    """The socket closes with `close` (before or after it was admitted)."""

    def __init__(self, close: Close) -> None:
        super().__init__(close[1])
        self.close = close


def check_origin(websocket: WebSocket, gate: Gate) -> None:
    if not _origin_allowed(websocket, gate.settings.origins):
        raise Rejected(ORIGIN_NOT_ALLOWED)


async def authenticate(websocket: WebSocket, gate: Gate) -> Bearer:
    """The token, from `?token=` or a `chat.token.<token>` subprotocol offer; a
    token this instance checked lately is taken as checked (tokens.py)."""
    token = websocket.query_params.get("token") or protocol.offered_token(websocket.scope["subprotocols"])
    if not token:
        return await _check(gate, token)
    return await gate.registry.tokens.check(token, functools.partial(_check, gate, token))


async def _check(gate: Gate, token: str | None) -> Bearer:
    async with gate.reads() as session:
        try:
            user, claims = await user_for_access_token(session, gate.codec, token)
        except TokenError as exc:
            raise Rejected(policy(exc.reason)) from None
    return Bearer(user.id, user.username, user.is_admin, server_frames.encode_user(user), claims)


def room_id(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_DB_INT else None


def admit(websocket: WebSocket, gate: Gate, bearer: Bearer, *, binary: bool, multiplexed: bool) -> Connection:
    """The connection, counted against the caps."""
    conn = Connection(
        websocket,
        bearer,
        gate.settings.send_queue,
        queue_bytes=gate.settings.send_queue_bytes,
        binary=binary,
        multiplexed=multiplexed,
    )
    if gate.registry.draining:
        raise Rejected(RESTARTING)
    if not gate.registry.admit(conn):
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
