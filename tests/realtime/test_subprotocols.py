"""chat.v1.json and chat.v1.msgpack, negotiated in the client's order."""

from __future__ import annotations

import msgpack
import orjson
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app, served
from tests.conftest import PASSWORD
from tests.realtime.conftest import LiveServer

MSGPACK = "chat.v1.msgpack"
JSON = "chat.v1.json"


async def test_selection_follows_the_client_order(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "lobby")
    cases = [
        ([JSON], JSON),
        ([MSGPACK], MSGPACK),
        (["x.unknown", MSGPACK, JSON], MSGPACK),
        ([JSON, MSGPACK], JSON),
        (["x.unknown"], None),  # answered as no offer: JSON, nothing selected
        (None, None),
    ]
    for offered, selected in cases:
        client = await server.connect(room["id"], token, subprotocols=offered)
        assert client.ws.subprotocol == selected, offered
        welcome, _, synced = await client.handshake()  # decoded in the selected encoding
        assert welcome["room"]["id"] == room["id"] and synced["type"] == "synced"
        await client.close()


async def test_the_token_may_travel_as_a_subprotocol_offer_never_selected(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "lobby")
    for offered, selected in [([JSON, f"chat.token.{token}"], JSON), ([f"chat.token.{token}", MSGPACK], MSGPACK)]:
        client = await server.connect(room["id"], None, subprotocols=offered)
        assert client.ws.subprotocol == selected
        welcome, _, _ = await client.handshake()
        assert welcome["user"]["username"] == "alice"
        await client.close()
    refused = await server.connect(room["id"], None, subprotocols=[JSON, "chat.token.not-a-token"])
    assert await refused.closed() == (1008, "invalid token")


async def test_msgpack_carries_the_same_objects_as_json(server: LiveServer) -> None:
    alice, token = await server.user("alice")
    room = await server.room(token, "lobby")
    packed = await server.connect(room["id"], token, subprotocols=[MSGPACK], ephemeral=True)
    plain = await server.connect(room["id"], token, subprotocols=[JSON])
    welcome_packed, _, _ = await packed.handshake()
    welcome_plain, _, _ = await plain.handshake()
    assert welcome_packed == welcome_plain
    assert welcome_packed["user"] == alice and welcome_packed["online"] == [alice]

    await packed.message("héllo ✓", "c1")
    from_packed, from_plain = (await packed.messages(1))[0], (await plain.messages(1))[0]
    assert from_packed == from_plain
    assert from_packed["body"] == "héllo ✓" and from_packed["client_msg_id"] == "c1"
    assert from_packed["created_at"].endswith("Z")

    await packed.message("again", "c1")  # a repeat: the original, marked, binary too
    assert await packed.recv() == {**from_plain, "duplicate": True}
    await packed.send({"type": "ping"})
    assert await packed.recv() == {"type": "pong"}

    # Replay after reconnecting is MessagePack too.
    again = await server.connect(room["id"], token, since=0, subprotocols=[MSGPACK])
    _, replay, synced = await again.handshake()
    assert replay == [from_plain] and synced["last_seq"] == 1


async def test_msgpack_errors_keep_the_connection(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "lobby")
    client = await server.connect(room["id"], token, subprotocols=[MSGPACK])
    await client.handshake()
    cases = [
        (orjson.dumps({"type": "ping"}).decode(), "unsupported_frame"),  # text under msgpack
        (b"\xc1", "invalid_frame"),  # never used in MessagePack
        (msgpack.packb([1, 2]), "invalid_frame"),
        (msgpack.packb({"type": "message", "body": b"bytes"}), "invalid_frame"),
        (msgpack.packb({"type": "message", "body": " "}), "empty_body"),
        (msgpack.packb({1: 2}), "invalid_frame"),
    ]
    for raw, code in cases:
        await client.ws.send(raw)
        error = await client.recv()
        assert error["type"] == "error" and error["code"] == code, (raw, error)
    await client.message("still here")
    assert (await client.messages(1))[0]["body"] == "still here"


def test_msgpack_through_testclient(settings: Settings) -> None:
    with TestClient(served(create_app(settings))) as http:
        http.post("/api/v1/auth/register", json={"username": "alice", "password": PASSWORD})
        token = http.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        room = http.post("/api/v1/rooms", json={"name": "lobby"}, headers=headers).json()
        with http.websocket_connect(f"/ws/rooms/{room['id']}?token={token}", subprotocols=[MSGPACK]) as ws:
            assert ws.accepted_subprotocol == MSGPACK
            assert msgpack.unpackb(ws.receive_bytes())["type"] == "welcome"
            assert msgpack.unpackb(ws.receive_bytes())["type"] == "synced"
            ws.send_bytes(msgpack.packb({"type": "message", "body": "hi"}))
            assert msgpack.unpackb(ws.receive_bytes())["body"] == "hi"
