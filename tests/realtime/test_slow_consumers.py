"""Memory per socket is bounded: frames waiting for a socket, its replay included,
stay under CHAT_SEND_QUEUE_BYTES; a socket that reads nothing for
CHAT_SEND_TIMEOUT_SECONDS while frames wait is closed 1013 "slow consumer", during
its replay too; the others in its room are served meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import orjson
import pytest

from service.messages import stream_reads
from service.messages.store import Pending
from service.realtime import subscribing
from service.realtime.connection import Connection
from tests.realtime.conftest import LiveServer, ServerFactory, wait_until
from tests.realtime.unread import UnreadSocket
from tests.storing import store_batch

BIG = 16_000  # characters of a big message


async def _store(server: LiveServer, room_id: int, user_id: int, count: int, size: int = BIG) -> None:
    """`count` messages of about `size` characters, in one transaction, nothing published."""
    batch = [Pending(room_id, user_id, "alice", f"{i} " + "x" * (size - 6), None) for i in range(count)]
    results = await store_batch(server.state.engine, batch)
    assert not any(isinstance(r, BaseException) for r in results)


async def _connection(server: LiveServer, user_id: int) -> Connection:
    registry = server.state.hub.registry
    await wait_until(lambda: len(registry.of_user(user_id)) == 1)
    return registry.of_user(user_id)[0]


@contextlib.asynccontextmanager
async def _most_queued(conn: Connection) -> Any:
    """The most bytes `conn` held queued, looked at every millisecond meanwhile."""
    most = [0]

    async def watch() -> None:
        while True:
            most[0] = max(most[0], conn.queued_bytes)
            await asyncio.sleep(0.001)

    task = asyncio.create_task(watch())
    try:
        yield most
    finally:
        task.cancel()


async def test_a_socket_reading_nothing_is_closed_1013_during_its_replay(make_server: ServerFactory) -> None:
    timeout, bound = 1.0, 64 * 1024
    server = await make_server(send_timeout_seconds=timeout, send_queue_bytes=bound, max_message_chars=BIG)
    alice, token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    room = await server.room(token, "big")
    count = 400  # 6.4 MB: more than the socket buffers (here about 3 MB) and the queue hold
    await _store(server, room["id"], alice["id"], count)
    bystander = await server.connect(room["id"], token, since=count)
    await bystander.handshake()
    sender = await server.connect(room["id"], token, since=count)
    await sender.handshake()

    loop = asyncio.get_running_loop()
    opened = loop.time()
    unread = await UnreadSocket.open(server.port, f"/ws/rooms/{room['id']}?token={bob_token}&since=0")
    try:
        conn = await _connection(server, bob["id"])
        async with _most_queued(conn) as most:
            sent = 0
            while server.state.hub.registry.of_user(bob["id"]):
                await sender.message(f"live {sent}")
                for client in (bystander, sender):
                    (got,) = await client.messages(1, timeout=2)  # promptly, however stuck the other is
                    assert got["body"] == f"live {sent}"
                sent += 1
                await asyncio.sleep(0.05)
                assert loop.time() - opened < timeout + 10, "never closed"
        closed_after = loop.time() - opened
        assert most[0] <= bound
        assert closed_after >= timeout  # the bound paced the replay; the timeout closed it
        payloads, close = await unread.read_to_close()
    finally:
        unread.close()
    assert close == (1013, "slow consumer")
    frames = [orjson.loads(p) for p in payloads]
    assert frames[0]["type"] == "welcome"
    replayed = frames[1:]
    assert all(f["type"] == "message" for f in replayed)  # no `synced`: closed during the replay
    assert [f["seq"] for f in replayed] == list(range(1, len(replayed) + 1))
    assert len(replayed) < count


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_live_frames_past_the_byte_bound_close_1013(make_server: ServerFactory) -> None:
    """Far fewer frames than CHAT_SEND_QUEUE, well within the timeout: the byte
    bound alone closes the socket, and its queue never held more."""
    bound = 64 * 1024
    server = await make_server(send_queue=5000, send_queue_bytes=bound, send_timeout_seconds=60, max_message_chars=BIG)
    _, token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    room = await server.room(token, "big")
    sender = await server.connect(room["id"], token)
    await sender.handshake()
    unread = await UnreadSocket.open(server.port, f"/ws/rooms/{room['id']}?token={bob_token}")
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        conn = await _connection(server, bob["id"])
        async with _most_queued(conn) as most:
            sent = 0
            while server.state.hub.registry.of_user(bob["id"]):
                assert sent < 1000, "never closed"  # 16 MB; the socket buffers hold about 3
                await sender.message(f"{sent} " + "y" * (BIG - 10))
                await sender.messages(1)
                sent += 1
        assert loop.time() - started < 30
        assert most[0] <= bound
        payloads, close = await unread.read_to_close()
    finally:
        unread.close()
    assert close == (1013, "slow consumer")
    seqs = [f["seq"] for f in map(orjson.loads, payloads) if f["type"] == "message"]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) < sent


async def test_a_slow_reader_gets_the_whole_replay_once_in_order(
    make_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading slower than the timeout allows for the whole replay, but reading:
    the replay waits for the socket, read from the database a chunk at a time."""
    bound, size = 1 << 20, 8000
    server = await make_server(send_timeout_seconds=1.0, send_queue_bytes=bound, max_message_chars=size)
    alice, token = await server.user("alice")
    room = await server.room(token, "big")
    count = 600  # 4.8 MB: more than the socket buffers (here about 3 MB) and the queue hold
    await _store(server, room["id"], alice["id"], count, size)
    frames: list[dict[str, Any]] = []
    chunks: list[tuple[int, int]] = []  # rows read, frames the client had then

    async def read_stored(*args: Any, **kwargs: Any) -> list[Any]:
        rows = await stream_reads.read_stored(*args, **kwargs)
        chunks.append((len(rows), len(frames)))
        return rows

    monkeypatch.setattr(subscribing, "read_stored", read_stored)
    loop = asyncio.get_running_loop()
    started = loop.time()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # what the client reads is what it takes
    sock.connect(("127.0.0.1", server.port))
    client = await server.connect(room["id"], token, since=0, max_queue=1, max_size=None, sock=sock)
    conn = await _connection(server, alice["id"])
    async with _most_queued(conn) as most:
        while not frames or frames[-1]["type"] != "synced":
            frames.append(await client.recv())
            await asyncio.sleep(0.003)  # slow: the whole replay takes longer than the timeout
    assert loop.time() - started > 1.0
    assert [f["type"] for f in frames[:1]] == ["welcome"]
    assert [f["seq"] for f in frames[1:-1]] == list(range(1, count + 1))
    assert frames[-1]["replayed"] == count and not frames[-1]["truncated"]
    assert most[0] <= bound
    rows = subscribing.chunk_rows(server.state.settings)
    assert sum(n for n, _ in chunks) == count and max(n for n, _ in chunks) <= rows < count
    assert chunks[-1][1] > 0  # the last chunk was read once the client had taken frames
