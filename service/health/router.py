"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from service.health.dependencies import BrokerDep, MetricsDep, ReadEngineDep
from service.replicas.dependencies import RoutedReadsDep

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 2.0


class ReplicaState(BaseModel):
    up: bool  # answers as a standby of the primary
    usable: bool  # up and within CHAT_REPLICA_MAX_LAG_SECONDS: reads go to it
    lag_seconds: float | None  # behind the primary's WAL position; null while it does not answer
    problem: str | None


class Ready(BaseModel):
    status: Literal["ok"]
    # With CHAT_DATABASE_REPLICA_URLS only. A replica down or behind leaves the
    # instance ready: its reads go to the primary.
    replicas: dict[str, ReplicaState] | None = None


class NotReady(BaseModel):
    status: Literal["unavailable"]
    detail: dict[str, str]  # what is unreachable, and why
    replicas: dict[str, ReplicaState] | None = None


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready, responses={503: {"model": NotReady, "description": "Not ready"}})
async def readyz(read_engine: ReadEngineDep, broker: BrokerDep, routed: RoutedReadsDep) -> JSONResponse:
    """The database and the broker are reachable (a Redis Cluster: cluster_state ok,
    every slot served): this instance can take traffic."""
    problems: dict[str, str] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        problems["database"] = f"unreachable: {type(exc).__name__}"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            broker_ok = await broker.ping()
    except TimeoutError:
        broker_ok = False
    if not broker_ok:
        # A Redis broker says why (a cluster: its state, or the slots no master serves).
        problems["broker"] = getattr(broker, "problem", None) or "unreachable or resubscribing"
    answer: dict[str, object] = {"status": "unavailable", "detail": problems} if problems else {"status": "ok"}
    if routed.replicas:
        answer["replicas"] = {
            name: {**asdict(s), "lag_seconds": None if s.lag_seconds is None else round(s.lag_seconds, 3)}
            for name, s in routed.status().items()
        }
    return JSONResponse(answer, status_code=503 if problems else 200)


# The Prometheus text format, declared so clients do not expect JSON.
@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(recorded: MetricsDep) -> Response:
    return Response(generate_latest(recorded.registry), media_type=CONTENT_TYPE_LATEST)
