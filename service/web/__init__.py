"""The browser client: static files served at `/`, no build step."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount last: API and WebSocket routes match first."""
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="web")
