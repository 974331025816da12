"""A bare FastAPI app: one WebSocket route, one room, and the naive broadcast loop
(await send_text on each socket in turn). Run by uvicorn with the service's
WebSocket settings: websockets-sansio, no permessage-deflate."""

from __future__ import annotations

import argparse
import asyncio

import uvicorn
import uvloop
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
clients: set[WebSocket] = set()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.websocket("/ws")
async def room(websocket: WebSocket) -> None:
    await websocket.accept()
    clients.add(websocket)
    try:
        async for text in websocket.iter_text():  # ends at disconnect
            for other in list(clients):
                try:
                    await other.send_text(text)
                except (WebSocketDisconnect, RuntimeError):
                    clients.discard(other)
    except WebSocketDisconnect:
        pass
    finally:
        clients.discard(websocket)


async def main(port: int, max_seconds: float) -> None:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio", ws_per_message_deflate=False
    )
    server = uvicorn.Server(config)
    asyncio.get_running_loop().call_later(max_seconds, setattr, server, "should_exit", True)
    await server.serve()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=3600, help="exit after this long, whatever happens")
    args = parser.parse_args()
    uvloop.run(main(args.port, args.max_seconds))
