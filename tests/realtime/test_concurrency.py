from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import PASSWORD
from tests.realtime.conftest import LiveServer, wait_until

# How long a held hash waits for the pong before it gives up and the test fails.
HOLD_SECONDS = 10


async def test_many_senders_in_many_rooms_all_succeed_on_sqlite(server: LiveServer) -> None:
    """Concurrent writers never see "database is locked": every send is echoed."""
    tokens = [(await server.user(f"user{i}"))[1] for i in range(8)]
    rooms = [await server.room(tokens[0], f"room{i}") for i in range(4)]
    per_sender = 25

    async def sender(token: str, room_id: int, n: int) -> list[dict]:
        client = await server.connect(room_id, token)
        await client.handshake()
        echoes: list[dict] = []
        for i in range(per_sender):
            await client.message(f"{n}-{i}", f"{n}-{i}")
            while True:
                frame = await client.recv()
                assert frame["type"] != "error", frame
                if frame["type"] == "message" and frame["client_msg_id"] == f"{n}-{i}":
                    echoes.append(frame)
                    break
        await client.close()
        return echoes

    results = await asyncio.gather(*(sender(tokens[n % 8], rooms[n % 4]["id"], n) for n in range(16)))
    assert sum(len(r) for r in results) == 16 * per_sender
    for room in rooms:
        history = await server.history(tokens[0], room["id"])
        assert [m["seq"] for m in history] == list(range(1, 4 * per_sender + 1))


async def test_readers_reconnecting_with_since_under_a_flood_see_each_message_once(server: LiveServer) -> None:
    tokens = [(await server.user(f"user{i}"))[1] for i in range(6)]
    room = await server.room(tokens[0], "flood")
    senders, per_sender = 3, 60
    total = senders * per_sender
    rng = random.Random(7)

    async def send_all(token: str, n: int) -> None:
        client = await server.connect(room["id"], token)
        await client.handshake()
        for i in range(per_sender):
            await client.message(f"{n}-{i}", f"{n}-{i}")
            while (await client.recv_type("message"))["client_msg_id"] != f"{n}-{i}":
                pass
        await client.close()

    async def read_all(token: str) -> list[int]:
        seen: list[int] = []
        since: int | None = 0
        while len(seen) < total:
            client = await server.connect(room["id"], token, since=since)
            with contextlib.suppress(ConnectionClosed):
                _, replay, _ = await client.handshake()
                seen += [m["seq"] for m in replay]
                budget = rng.randint(5, 40)  # drop the connection after a few live frames
                while len(seen) < total and budget > 0:
                    frame = await client.recv()
                    if frame["type"] == "message":
                        seen.append(frame["seq"])
                        budget -= 1
            await client.close()
            since = seen[-1] if seen else 0
        return seen

    readers = [asyncio.create_task(read_all(t)) for t in tokens[3:]]
    await asyncio.gather(*(send_all(tokens[n], n) for n in range(senders)))
    for seen in await asyncio.gather(*readers):
        assert seen == list(range(1, total + 1))


async def test_pings_answered_while_logins_hash_passwords(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of eight logins' hashes is held until a socket's ping has its pong: a hash
    run on the event loop would hold the loop too, the pong could not come, and the
    hash would give up waiting for it."""
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    client = await server.connect(room["id"], token)
    await client.handshake()
    context = server.state.hasher._context
    hashing, answered = threading.Event(), threading.Event()
    saw_pong: list[bool] = []
    real_verify = context.verify

    def held(*args: Any, **kwargs: Any) -> Any:
        hashing.set()
        saw_pong.append(answered.wait(timeout=HOLD_SECONDS))
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(context, "verify", held)
    for _ in range(8):
        hashing.clear()
        answered.clear()
        login = asyncio.ensure_future(server.http.post("/auth/token", data={"username": "alice", "password": PASSWORD}))
        await wait_until(hashing.is_set, timeout=2 * HOLD_SECONDS)
        await client.send({"type": "ping"})
        await client.recv_type("pong")
        answered.set()
        assert (await login).status_code == 200
    assert saw_pong == [True] * 8
