"""The browser client: static files served at `/`, no build step."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class WithHeaders:
    """Adds headers to every HTTP response of the wrapped app (only the static files:
    /docs loads its scripts from a CDN and would break under this policy)."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """Mount last: API and WebSocket routes match first."""
    app.mount("/", WithHeaders(StaticFiles(directory=STATIC_DIR, html=True), SECURITY_HEADERS), name="web")
