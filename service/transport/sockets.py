"""WebSocket scopes routed ahead of the HTTP middleware.

Body limits, the docs' policy, error pages and dependency exit stacks have
nothing to do for a socket, and every layer a socket passes through stays on its
task's stack, in memory, for as long as it is open. Added last, so it runs first
of the app's own middleware."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Router
from starlette.types import ASGIApp, Receive, Scope, Send


class SocketsFirst:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.sockets = Router(routes=list(routes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.sockets(scope, receive, send)
        else:
            await self.app(scope, receive, send)
