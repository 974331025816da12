"""python-socketio AsyncServer (ASGI, on uvicorn with the service's WebSocket
settings). A client emits "join" with a room name (acknowledged), then each
"message" event it emits is emitted to everyone in its room, the sender too."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import socketio
import uvicorn
import uvloop

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=[], transports=["websocket"])
room_of: dict[str, str] = {}


@sio.event
async def join(sid: str, room: str) -> str:
    await sio.enter_room(sid, room)
    room_of[sid] = room
    return "ok"


@sio.event
async def message(sid: str, data: Any) -> None:
    room = room_of.get(sid)
    if room is not None:
        await sio.emit("message", data, room=room)


@sio.event
async def disconnect(sid: str, *_: Any) -> None:
    room_of.pop(sid, None)


async def healthz(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Everything that is not /socket.io/: 200 on /healthz, else 404."""
    if scope["type"] != "http":
        return
    status = 200 if scope["path"] == "/healthz" else 404
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok\n" if status == 200 else b""})


app = socketio.ASGIApp(sio, other_asgi_app=healthz)


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
