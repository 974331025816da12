"""What the health routes look at: the read engine, the broker, the metrics."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine

from service.dependencies import from_state
from service.metrics import Metrics


class Reachable(Protocol):
    async def ping(self) -> bool:
        """Whether it answers (a broker: and every subscription is live)."""
        ...


ReadEngineDep = Annotated[AsyncEngine, Depends(from_state("read_engine"))]
BrokerDep = Annotated[Reachable, Depends(from_state("broker"))]
MetricsDep = Annotated[Metrics, Depends(from_state("metrics"))]
