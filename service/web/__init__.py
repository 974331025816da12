"""The browser client: static files served at `/`, no build step."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Response

STATIC_DIR = Path(__file__).parent / "static"

# The client builds its DOM with textContent only; this policy is the second line
# of defence: no inline script or style, nothing from other origins, fetches and
# sockets to this origin only, and forms never submitted by the browser itself
# (a password must not end up in a URL if the script fails to load).
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # No hashed file names without a build step: revalidate so an upgrade is seen at once.
    "Cache-Control": "no-cache",
}


async def _security_headers(response: Response) -> None:
    response.headers.update(SECURITY_HEADERS)


def install(app: FastAPI) -> None:
    """Serve the client from `/` as FastAPI's frontend: it is tried only when no
    route matches the path, so a route's own 405 (with its `Allow`) wins. The headers
    go on the client's files only: /docs and /redoc need inline script and have a policy of their own."""
    web = APIRouter(dependencies=[Depends(_security_headers)])
    web.frontend("/", directory=STATIC_DIR, fallback=None)
    app.include_router(web)
