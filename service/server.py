"""How uvicorn runs the app: one set of options for `serve` and for the tests."""

from __future__ import annotations

import functools
import logging
import resource
from typing import Any

from service.config import Settings
from service.logs import log_config
from service.transport.http import GuardedHttpProtocol
from service.transport.websocket import ChatWebSocketProtocol

log = logging.getLogger("service.server")

# Seconds uvicorn waits for open connections and tasks after SIGTERM.
GRACEFUL_SHUTDOWN_SECONDS = 10


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "http": functools.partial(
            GuardedHttpProtocol,
            request_timeout=settings.http_request_timeout_seconds,
            send_timeout=settings.send_timeout_seconds,
        ),
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "ws": functools.partial(ChatWebSocketProtocol, send_timeout=settings.send_timeout_seconds),
        "ws_max_size": settings.ws_max_frame_bytes,
        "ws_per_message_deflate": settings.ws_compression,
        # Also the time a client has to answer: ChatWebSocketProtocol's keepalive has no separate timeout.
        "ws_ping_interval": settings.ws_ping_seconds,
        "log_config": log_config(),
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
    }


def raise_open_file_limit() -> int:
    """Lift the soft limit on open files to the hard one, as Go's runtime does:
    every socket is a file, and a soft limit of 1,024 is a few hundred idle
    clients away. Returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open file limit from %d: %s", soft, exc)
    return soft
