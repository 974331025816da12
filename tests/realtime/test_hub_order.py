"""The feeds restore seq order and fill gaps from the database, whatever the broker does."""

from __future__ import annotations

import pytest

from tests.realtime.conftest import LiveServer, ServerFactory
from tests.storing import store_message


async def test_out_of_order_and_lost_publishes_reach_clients_in_order_once(server: LiveServer) -> None:
    user, token = await server.user("alice")
    room = await server.room(token, "general")
    clients = [await server.connect(room["id"], token) for _ in range(2)]
    for c in clients:
        await c.handshake()
    state = server.state
    stored = [(await store_message(state.engine, room["id"], user["id"], f"m{i}")).message for i in range(1, 7)]
    by_seq = {m.seq: m for m in stored}
    # Published as the writer does after commit, but reordered, duplicated, and seq 3
    # and 5 never (their publisher died after commit).
    for seq in (2, 4, 1, 2, 6):
        await state.hub.fanout.publish_stored([by_seq[seq]])
    for c in clients:
        got = await c.messages(6)
        assert [m["seq"] for m in got] == [1, 2, 3, 4, 5, 6]
        assert [m["body"] for m in got] == [f"m{i}" for i in range(1, 7)]
    # Nothing more arrives: the next frame is the pong.
    await clients[0].send({"type": "ping"})
    assert await clients[0].recv() == {"type": "pong"}


async def test_a_failed_first_join_leaves_no_broken_feed(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first socket of a room fails while the room's feed is being set up; the
    next socket still gets live messages."""
    _, token = await server.user("alice")
    room = await server.room(token, "lobby")
    broker = server.state.hub.broker
    real = broker.subscribe

    async def fail_once(room_id: int) -> None:
        monkeypatch.setattr(broker, "subscribe", real)
        raise ConnectionError("broker away")

    monkeypatch.setattr(broker, "subscribe", fail_once)
    failed = await server.connect(room["id"], token)
    assert (await failed.closed())[0] == 1011
    client = await server.connect(room["id"], token)
    await client.handshake()
    await client.message("live")
    assert (await client.messages(1))[0]["body"] == "live"


async def test_an_entry_never_published_arrives_by_the_sweep(make_server: ServerFactory) -> None:
    """Stored and never published, and nothing after it: the sweep (every open feed
    against the database once per CHAT_LOST_PUBLISH_SWEEP_SECONDS) brings it."""
    server = await make_server(lost_publish_sweep_seconds=2)
    user, token = await server.user("alice")
    room = await server.room(token, "general")
    client = await server.connect(room["id"], token)
    await client.handshake()
    await store_message(server.state.engine, room["id"], user["id"], "unpublished")
    assert [(m["seq"], m["body"]) for m in await client.messages(1)] == [(1, "unpublished")]
