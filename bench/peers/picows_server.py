"""The limit of Python on this machine: a picows server (Cython framing) with one
room; every text frame it receives goes to every connected client (the sender
too), written straight to each transport. GET /healthz answers 200."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, WSUpgradeResponse, ws_create_server
from picows.common import WSUpgradeResponseWithListener

CLIENTS: set[WSTransport] = set()


class Client(WSListener):  # type: ignore[misc]
    def on_ws_connected(self, transport: WSTransport) -> None:
        CLIENTS.add(transport)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        CLIENTS.discard(transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            payload = frame.get_payload_as_bytes()
            for client in CLIENTS:
                client.send(WSMsgType.TEXT, payload)
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()


def route(request: WSUpgradeRequest) -> Client | WSUpgradeResponseWithListener:
    if request.path == b"/healthz":
        return WSUpgradeResponseWithListener(WSUpgradeResponse.create_ok_response(b"ok\n"), None)
    return Client()  # any other path is the room


async def main(port: int, max_seconds: float) -> None:
    server = await ws_create_server(route, "127.0.0.1", port, max_frame_size=65536, backlog=2048)
    async with server:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.serve_forever(), max_seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=3600, help="exit after this long, whatever happens")
    args = parser.parse_args()
    uvloop.run(main(args.port, args.max_seconds))
