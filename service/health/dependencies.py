"""What the health routes look at: the read engine, the broker, the metrics."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from service.metrics import Metrics


class Reachable(Protocol):
    async def ping(self) -> bool:
        """Whether it answers (a broker: and every subscription is live)."""
        ...


async def _read_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.read_engine
    return engine


async def _broker(request: Request) -> Reachable:
    broker: Reachable = request.app.state.broker
    return broker


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


ReadEngineDep = Annotated[AsyncEngine, Depends(_read_engine)]
BrokerDep = Annotated[Reachable, Depends(_broker)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
