"""What uvicorn serves: WebSocket scopes routed ahead of the app's whole stack.

The framework's per-request work (its telemetry check, error pages, body limits,
the docs' policy, dependency exit stacks) has nothing to do for a socket, and
every layer a socket passes through stays on its task's stack, in memory, for as
long as it is open. So a WebSocket scope goes from uvicorn straight to the socket
routes; everything else, lifespan included, to the app."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Router
from starlette.types import Receive, Scope, Send


class SocketsFirst:
    def __init__(self, app: Starlette, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.sockets = Router(routes=list(routes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope["app"] = self.app  # what WebSocket.app reads, as the app would set it
            await self.sockets(scope, receive, send)
        else:
            await self.app(scope, receive, send)
