from __future__ import annotations

import asyncio
import contextlib
import socket
from datetime import UTC, datetime, timedelta

from websockets.exceptions import ConnectionClosed

from service.auth.security import TokenCodec
from tests.conftest import PASSWORD, TEST_KEY
from tests.realtime.conftest import EXPIRY_MARGIN_S, LiveServer, ServerFactory, auth, wait_until


async def test_token_expiry_closes_1008_and_reconnect_loses_nothing(server: LiveServer) -> None:
    user, token = await server.user("alice")
    room = await server.room(token, "general")
    codec = TokenCodec(TEST_KEY, server.state.settings)
    # A token with a few seconds left: enough to connect on a busy machine (exp is whole seconds).
    lifetime = codec.lifetime("access")
    left = timedelta(seconds=EXPIRY_MARGIN_S)
    short = codec.issue(user["id"], "access", now=datetime.now(UTC) - lifetime + left).token
    client = await server.connect(room["id"], short)
    await client.handshake()
    writer = await server.connect(room["id"], token)
    await writer.handshake()
    await writer.message("before")
    seen = await client.messages(1)
    assert await client.closed(timeout=EXPIRY_MARGIN_S + 10) == (1008, "token expired")
    await writer.message("while away")
    await writer.messages(2)  # its echo: stored
    again = await server.connect(room["id"], token, since=seen[-1]["seq"])
    _, replay, _ = await again.handshake()
    assert [m["body"] for m in replay] == ["while away"]


async def test_logout_closes_sockets_of_that_token_only(server: LiveServer) -> None:
    _, token = await server.user("alice")
    other = (await server.http.post("/auth/token", data={"username": "alice", "password": PASSWORD})).json()
    room = await server.room(token, "general")
    doomed = await server.connect(room["id"], token)
    await doomed.handshake()
    kept = await server.connect(room["id"], other["access_token"])
    await kept.handshake()
    assert (await server.http.post("/auth/logout", headers=auth(token))).status_code == 204
    assert await doomed.closed() == (1008, "token revoked")
    await kept.send({"type": "ping"})
    assert await kept.recv_type("pong")


async def test_member_removal_closes_1008(server: LiveServer) -> None:
    _, owner_token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    room = await server.room(owner_token, "team", private=True)
    r = await server.http.post(f"/rooms/{room['id']}/members", json={"username": "bob"}, headers=auth(owner_token))
    assert r.status_code == 201
    client = await server.connect(room["id"], bob_token)
    await client.handshake()
    owner = await server.connect(room["id"], owner_token)
    await owner.handshake()
    r = await server.http.delete(f"/rooms/{room['id']}/members/{bob['id']}", headers=auth(owner_token))
    assert r.status_code == 204
    assert await client.closed() == (1008, "removed from room")
    await owner.send({"type": "ping"})
    assert await owner.recv_type("pong")
    # And they cannot come back.
    again = await server.connect(room["id"], bob_token)
    assert await again.closed() == (1008, "room not found")


async def test_room_deletion_closes_1001(server: LiveServer) -> None:
    _, token = await server.user("alice")
    _, bob_token = await server.user("bob")
    room = await server.room(token, "doomed")
    clients = [await server.connect(room["id"], t) for t in (token, bob_token)]
    for c in clients:
        await c.handshake()
    assert (await server.http.delete(f"/rooms/{room['id']}", headers=auth(token))).status_code == 204
    for c in clients:
        assert await c.closed() == (1001, "room deleted")
    await wait_until(lambda: len(server.state.hub.registry) == 0)


async def test_never_reading_client_is_dropped_without_delaying_others(make_server: ServerFactory) -> None:
    server = await make_server(send_queue=16, max_message_chars=60000, ws_max_frame_bytes=65536 * 2)
    _, token = await server.user("alice")
    _, reader_token = await server.user("bob")
    room = await server.room(token, "busy")

    # A raw socket that completes the handshake, then never reads again.
    loop = asyncio.get_running_loop()
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await loop.sock_connect(raw, ("127.0.0.1", server.port))
    await loop.sock_sendall(
        raw,
        (
            f"GET /ws/rooms/{room['id']}?token={reader_token} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode(),
    )
    assert await asyncio.wait_for(loop.sock_recv(raw, 12), 10) == b"HTTP/1.1 101"
    await wait_until(lambda: len(server.state.hub.registry) == 1)

    try:
        fast = await server.connect(room["id"], reader_token)
        await fast.handshake()
        sender = await server.connect(room["id"], token)
        await sender.handshake()
        count = 300  # 15 MB: far more than the socket buffers and the queue hold
        reading = asyncio.create_task(fast.messages(count, timeout=60))
        body = "x" * 50_000
        for i in range(count):
            await sender.message(f"{i} {body}")
            await sender.messages(1)  # each echo comes back promptly
        received = await reading
        assert [m["seq"] for m in received] == list(range(1, count + 1))
        # The raw socket was dropped from the room; the two readers remain.
        await wait_until(lambda: len(server.state.hub.registry) == 2)
    finally:
        raw.close()


async def test_slow_reader_gets_1013_and_catches_up_with_since(make_server: ServerFactory) -> None:
    server = await make_server(send_queue=8, max_message_chars=60000, ws_max_frame_bytes=65536 * 2)
    _, token = await server.user("alice")
    room = await server.room(token, "busy")
    slow = await server.connect(room["id"], token, max_queue=1)
    await slow.handshake()
    slow.ws.transport.pause_reading()  # stop reading: kernel buffers fill, then the queue
    sender = await server.connect(room["id"], token)
    await sender.handshake()
    count = 300
    for i in range(count):
        await sender.message(f"{i} " + "y" * 50_000)
        await sender.messages(1)
    slow.ws.transport.resume_reading()
    seqs = []
    async with asyncio.timeout(30):
        with contextlib.suppress(ConnectionClosed):
            while True:
                frame = await slow.recv()
                if frame["type"] == "message":
                    seqs.append(frame["seq"])
    assert (slow.ws.close_code, slow.ws.close_reason) == (1013, "slow consumer")
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) < count
    again = await server.connect(room["id"], token, since=len(seqs))
    _, replay, _ = await again.handshake()
    assert [m["seq"] for m in replay] == list(range(len(seqs) + 1, count + 1))
