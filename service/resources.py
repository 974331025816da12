"""What the app builds at startup and hands to every request and socket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.auth.security import PasswordHasher, TokenCodec
from service.auth.throttle import LoginThrottle
from service.config import Settings
from service.messages.writer import MessageWriter
from service.metrics import Metrics
from service.realtime.hub import Hub


@dataclass(slots=True)
class Resources:
    settings: Settings
    engine: AsyncEngine  # transactions that may write (REST)
    sessionmaker: async_sessionmaker[AsyncSession]
    # Read-only transactions: on SQLite WAL readers beside the writer, on
    # PostgreSQL a pool of their own (db.py).
    read_engine: AsyncEngine
    reads: async_sessionmaker[AsyncSession]
    hasher: PasswordHasher
    throttle: LoginThrottle
    codec: TokenCodec
    hub: Hub
    metrics: Metrics
    writer: MessageWriter


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(_resources)]
