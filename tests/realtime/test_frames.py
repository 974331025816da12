from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosed

from service.realtime import endpoint
from tests.realtime.conftest import Client, LiveServer, ServerFactory


async def _joined(server: LiveServer, name: str = "alice") -> tuple[Client, dict, str]:
    _, token = await server.user(name)
    room = await server.room(token, f"room-{name}")
    client = await server.connect(room["id"], token)
    await client.handshake()
    return client, room, token


async def _still_works(client: Client) -> None:
    await client.send({"type": "ping"})
    assert await client.recv() == {"type": "pong"}


async def test_ping_gets_pong(server: LiveServer) -> None:
    client, _, _ = await _joined(server)
    await _still_works(client)


async def test_each_bad_frame_gets_an_error_and_the_connection_stays_open(make_server: ServerFactory) -> None:
    server = await make_server(max_message_chars=10)
    client, room, token = await _joined(server)
    cases: list[tuple[str | bytes, str, str | None]] = [
        ("{not json", "invalid_json", None),
        ("", "invalid_json", None),
        ("[1, 2]", "invalid_frame", None),
        ('"message"', "invalid_frame", None),
        ("{}", "invalid_frame", None),
        ('{"type": "shout", "client_msg_id": "k1"}', "invalid_frame", "k1"),
        ('{"type": 5}', "invalid_frame", None),
        ('{"type": "message"}', "invalid_frame", None),
        ('{"type": "message", "body": 42, "client_msg_id": "k2"}', "invalid_frame", "k2"),
        ('{"type": "message", "body": "x", "client_msg_id": 7}', "invalid_frame", None),
        ('{"type": "message", "body": "x", "client_msg_id": "' + "i" * 65 + '"}', "invalid_frame", None),
        ('{"type": "message", "body": "a\\u0000b"}', "invalid_frame", None),
        ('{"type": "message", "body": "", "client_msg_id": "k3"}', "empty_body", "k3"),
        ('{"type": "message", "body": "   \\n "}', "empty_body", None),
        ('{"type": "message", "body": "12345678901", "client_msg_id": "k4"}', "body_too_long", "k4"),
        (b"\x00\x01binary", "unsupported_frame", None),
        ("[" * 5000, "invalid_json", None),
    ]
    for raw, code, client_msg_id in cases:
        await client.ws.send(raw)
        error = await client.recv()
        assert error["type"] == "error" and error["code"] == code, (raw[:40], error)
        assert error["client_msg_id"] == client_msg_id and error["detail"], raw[:40]
        await _still_works(client)
    # Nothing bad was stored.
    assert await server.history(token, room["id"]) == []
    await client.message("1234567890")  # exactly at the limit
    assert (await client.messages(1))[0]["body"] == "1234567890"


async def test_rate_limit_answers_with_retry_after(make_server: ServerFactory) -> None:
    server = await make_server(rate_per_second=2, rate_burst=3)
    client, room, token = await _joined(server)
    for i in range(5):
        await client.message(f"m{i}", f"id{i}")
    frames = [await client.recv() for _ in range(5)]
    stored = [f for f in frames if f["type"] == "message"]
    limited = [f for f in frames if f["type"] == "error"]
    assert [f["client_msg_id"] for f in stored] == ["id0", "id1", "id2"]
    assert [f["client_msg_id"] for f in limited] == ["id3", "id4"]
    for error in limited:
        assert error["code"] == "rate_limited" and 0 < error["retry_after_ms"] <= 500
    await asyncio.sleep(limited[-1]["retry_after_ms"] / 1000)  # the client's own back-off, as advised
    await client.message("later", "id5")
    assert (await client.messages(1))[0]["client_msg_id"] == "id5"
    assert len(await server.history(token, room["id"])) == 4


async def test_duplicate_client_msg_id_returns_original_to_sender_only(server: LiveServer) -> None:
    alice, room, token = await _joined(server)
    _, bob_token = await server.user("bob")
    bob = await server.connect(room["id"], bob_token)
    await bob.handshake()
    await alice.message("first", "same-id")
    original = (await alice.messages(1))[0]
    assert (await bob.messages(1))[0] == original
    await alice.message("second try", "same-id")
    again = (await alice.messages(1))[0]
    assert again.pop("duplicate") is True
    assert again == original
    # Bob gets nothing for the repeat: his next frame is the next real message.
    await alice.message("new", "other-id")
    assert (await bob.messages(1))[0]["seq"] == original["seq"] + 1
    assert [m["seq"] for m in await server.history(token, room["id"])] == [1, 2]


async def test_store_failure_answers_unavailable(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client, room, token = await _joined(server)

    def broken(*args: object, **kwargs: object) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(OSError("disk on fire"))
        return future

    monkeypatch.setattr(server.state.writer, "submit", broken)
    await client.message("lost?", "u1")
    error = await client.recv()
    assert error["type"] == "error" and error["code"] == "unavailable" and error["client_msg_id"] == "u1"
    await _still_works(client)
    monkeypatch.undo()
    await client.message("retry", "u1")
    assert (await client.messages(1))[0]["client_msg_id"] == "u1"


async def test_unexpected_exception_closes_1011(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client, _, _ = await _joined(server)

    def explode(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(endpoint.protocol, "parse_client_frame", explode)
    await client.send({"type": "ping"})
    code, _ = await client.closed()
    assert code == 1011


async def test_frame_over_the_limit_closes_1009(make_server: ServerFactory) -> None:
    server = await make_server(ws_max_frame_bytes=2048)
    client, _, _ = await _joined(server)
    await client.ws.send("x" * 4096)
    code, _ = await client.closed()
    assert code == 1009


async def test_no_compression_unless_enabled(make_server: ServerFactory) -> None:
    plain = await make_server()
    client, _, _ = await _joined(plain)  # the websockets client offers permessage-deflate
    assert client.ws.protocol.extensions == []
    deflating = await make_server(ws_compression=True)
    client, _, _ = await _joined(deflating, "bob")
    assert [e.name for e in client.ws.protocol.extensions] == ["permessage-deflate"]


async def test_client_close_is_1000(server: LiveServer) -> None:
    client, _, _ = await _joined(server)
    await client.close()
    assert client.ws.close_code == 1000
    with pytest.raises(ConnectionClosed):
        await client.ws.recv()
