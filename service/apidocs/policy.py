"""A Content-Security-Policy for /docs and /redoc that keeps them to this origin.

Their assets come from fastapi-offline, but ReDoc's bundle still points its footer
logo at its vendor's CDN and Swagger UI knows a validator elsewhere; under this
policy the browser never asks another host for anything. Both pages need inline
script and style, and ReDoc runs its search in a blob: worker."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class DocsPolicy:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in DOCS_PATHS:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["content-security-policy"] = DOCS_POLICY
            await send(message)

        await self.app(scope, receive, send_with_policy)
