"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from service.resources import ResourcesDep

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(resources: ResourcesDep) -> JSONResponse:
    """The database and the broker are reachable: this instance can take traffic."""
    problems: dict[str, str] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with resources.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        problems["database"] = f"unreachable: {type(exc).__name__}"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            broker_ok = await resources.hub.broker.ping()
    except TimeoutError:
        broker_ok = False
    if not broker_ok:
        problems["broker"] = "unreachable or resubscribing"
    if problems:
        return JSONResponse({"status": "unavailable", "detail": problems}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics")
async def metrics(resources: ResourcesDep) -> Response:
    return Response(generate_latest(resources.metrics.registry), media_type=CONTENT_TYPE_LATEST)
