"""How uvicorn runs the app: one set of options for `serve` and for the tests."""

from __future__ import annotations

from typing import Any

from service.config import Settings
from service.logs import log_config

# Seconds uvicorn waits for open connections and tasks after SIGTERM.
GRACEFUL_SHUTDOWN_SECONDS = 10


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "ws": "websockets-sansio",
        "ws_max_size": settings.ws_max_frame_bytes,
        "ws_per_message_deflate": settings.ws_compression,
        "log_config": log_config(),
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
    }
