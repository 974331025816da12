"""Request bodies over a limit are refused with 413 `{"detail"}` before they are read whole.

FastAPI's own `max_body_size` answers in plain text, outside the contract's error
shape, so the limit is kept here: a declared Content-Length over it is refused
without reading a byte, and a streamed body once the bytes received pass it. The
error is an HTTPException so FastAPI's body parsing lets it through to the one
JSON handler instead of turning it into a 400."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_LARGE = "request body too large"


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, TOO_LARGE)


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, unlimited_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes that bound their own bodies as they read them (uploads).
        self.unlimited_paths = frozenset(unlimited_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.unlimited_paths:
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.max_bytes:
            await _refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_noting_start)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(scope, receive, send)  # read outside the routes' error handling


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    error = BodyTooLarge()
    # uvicorn discards the rest of the body, within the request deadline
    # (transport/http.py); closing now would reset the connection before the
    # client could read this answer.
    await JSONResponse({"detail": error.detail}, error.status_code)(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0  # the HTTP parser rejects malformed ones
    return 0
