"""The ceiling: a bare `websockets` server with one room; every text frame it
receives goes to every connected client (the sender too) via broadcast()."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from http import HTTPStatus

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response

CLIENTS: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    CLIENTS.add(ws)
    try:
        async for message in ws:  # ends when the client goes away
            if isinstance(message, str):
                broadcast(CLIENTS, message)
    finally:
        CLIENTS.discard(ws)


def healthz(connection: ServerConnection, request: Request) -> Response | None:
    if request.path == "/healthz":
        return connection.respond(HTTPStatus.OK, "ok\n")
    return None  # any other path is the room


async def main(port: int, max_seconds: float) -> None:
    # compression=None: the service runs without permessage-deflate too.
    async with serve(
        handler, "127.0.0.1", port, compression=None, process_request=healthz, max_size=65536, backlog=2048
    ) as server:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.serve_forever(), max_seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=3600, help="exit after this long, whatever happens")
    args = parser.parse_args()
    uvloop.run(main(args.port, args.max_seconds))
