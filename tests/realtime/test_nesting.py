"""Deeply nested frames are answered with an error frame, never fatal (guarantee 6)."""

from __future__ import annotations

import logging

import msgpack
import pytest

from tests.realtime.conftest import Client, LiveServer

DEPTHS = (100, 960, 5_000, 30_000)


def _json_nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _msgpack_nested(depth: int) -> bytes:
    # fixarray of one element, `depth` times, around nil
    return b"\x91" * depth + b"\xc0"


def _frames(binary: bool) -> list[tuple[str, str | bytes]]:
    frames: list[tuple[str, str | bytes]] = []
    for depth in DEPTHS:
        if binary:
            nested = _msgpack_nested(depth)
            frames.append((f"type {depth}", b"\x81" + msgpack.packb("type") + nested))
            frames.append(
                (
                    f"body {depth}",
                    b"\x82" + msgpack.packb("type") + msgpack.packb("message") + msgpack.packb("body") + nested,
                )
            )
        else:
            frames.append((f"type {depth}", '{"type": ' + _json_nested(depth) + "}"))
            frames.append((f"body {depth}", '{"type": "message", "body": ' + _json_nested(depth) + "}"))
    return frames


@pytest.mark.parametrize("subprotocol", ["chat.v1.json", "chat.v1.msgpack"])
async def test_nested_frames_get_an_error_and_the_socket_stays_usable(
    server: LiveServer, subprotocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "deep")
    client: Client = await server.connect(room["id"], token, subprotocols=[subprotocol])
    await client.handshake()
    caplog.set_level(logging.DEBUG)
    for label, raw in _frames(subprotocol.endswith("msgpack")):
        await client.ws.send(raw)
        error = await client.recv()
        assert error["type"] == "error" and error["code"] in ("invalid_frame", "invalid_json"), (label, error)
        await client.send({"type": "ping"})
        assert await client.recv() == {"type": "pong"}, label
    await client.message("still here")
    assert (await client.messages(1))[0]["body"] == "still here"
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
