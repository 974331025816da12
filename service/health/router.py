"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from service.health.dependencies import BrokerDep, MetricsDep, ReadEngineDep

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 2.0


class Ready(BaseModel):
    status: Literal["ok"]


class NotReady(BaseModel):
    status: Literal["unavailable"]
    detail: dict[str, str]  # what is unreachable, and why


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready, responses={503: {"model": NotReady, "description": "Not ready"}})
async def readyz(read_engine: ReadEngineDep, broker: BrokerDep) -> JSONResponse:
    """The database and the broker are reachable: this instance can take traffic."""
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
        problems["broker"] = "unreachable or resubscribing"
    if problems:
        return JSONResponse({"status": "unavailable", "detail": problems}, status_code=503)
    return JSONResponse({"status": "ok"})


# The Prometheus text format, declared so clients do not expect JSON.
@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(recorded: MetricsDep) -> Response:
    return Response(generate_latest(recorded.registry), media_type=CONTENT_TYPE_LATEST)
