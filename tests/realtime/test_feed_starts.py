"""New room feeds: read together when opened together, shared by every socket
joining while one opens, and gone without a trace when the last socket leaves first."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event

from service.realtime import feed_starts as feed_starts_module
from service.realtime.feed import RECENT_ENTRIES
from service.realtime.feed_starts import FeedStarts, Start
from service.realtime.subscription import Subscription
from tests.realtime.conftest import LiveServer
from tests.storing import store_message


def count_room_reads(server: LiveServer) -> list[str]:
    """Every statement that reads rooms by id list, as the server runs it."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM rooms" in statement and "rooms.id IN" in statement:
            seen.append(statement)

    event.listen(server.state.engine.sync_engine, "before_cursor_execute", before)
    return seen


async def test_feeds_opened_together_read_their_rooms_in_one_query(server: LiveServer) -> None:
    user, token = await server.user("alice")
    rooms = [await server.room(token, f"r{i}") for i in range(12)]
    busy, quiet = rooms[0]["id"], rooms[1]["id"]
    for i in range(RECENT_ENTRIES + 6):
        await store_message(server.state.engine, busy, user["id"], f"b{i + 1}")
    for i in range(3):
        await store_message(server.state.engine, quiet, user["id"], f"q{i + 1}")
    reads = count_room_reads(server)
    feed_starts = FeedStarts(server.state.sessionmaker, RECENT_ENTRIES)

    got = await asyncio.gather(*(feed_starts.read(r["id"]) for r in rooms), feed_starts.read(999_999))

    assert len(reads) == 1, reads
    by_room: dict[int, Start] = {r["id"]: s for r, s in zip(rooms, got, strict=False)}
    assert got[-1].room is None and got[-1].last_seq == 0
    assert by_room[busy].last_seq == RECENT_ENTRIES + 6
    assert [e.seq for e in by_room[busy].newest] == list(range(7, RECENT_ENTRIES + 7))
    assert [e.body for e in by_room[quiet].newest] == ["q1", "q2", "q3"]  # type: ignore[union-attr]
    assert all(s.newest == [] and s.last_seq == 0 for r, s in by_room.items() if r not in (busy, quiet))


async def test_more_rooms_than_a_batch_take_more_queries(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_starts_module, "BATCH_MAX", 5)
    _, token = await server.user("alice")
    rooms = [await server.room(token, f"r{i}") for i in range(12)]
    reads = count_room_reads(server)
    feed_starts = FeedStarts(server.state.sessionmaker, RECENT_ENTRIES)
    got = await asyncio.gather(*(feed_starts.read(r["id"]) for r in rooms))
    assert len(reads) == 3
    assert [s.room.id for s in got if s.room is not None] == [r["id"] for r in rooms]


async def gate_feed_starts(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold every feed's first read until the returned gate opens; `reading` is set
    when one is held."""
    hub_starts = server.state.hub.feeds.starts
    real = hub_starts._read_batch
    gate, reading = asyncio.Event(), asyncio.Event()

    async def held(room_ids: list[int], openers: dict[int, set[int]]) -> dict[int, Start]:
        reading.set()
        await gate.wait()
        return await real(room_ids, openers)

    monkeypatch.setattr(hub_starts, "_read_batch", held)
    return gate, reading


async def test_sockets_joining_while_the_feed_opens_share_it(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "lobby")
    gate, reading = await gate_feed_starts(server, monkeypatch)
    pending = [asyncio.create_task(server.connect(room["id"], token)) for _ in range(3)]
    await reading.wait()
    gate.set()
    clients = await asyncio.gather(*pending)
    for c in clients:
        await c.handshake()
    await clients[0].message("hello")
    for c in clients:
        assert [m["body"] for m in await c.messages(1)] == ["hello"]
    assert len(server.state.hub.feeds.open[room["id"]].subscriptions) == 3


async def test_the_last_socket_leaving_while_the_feed_opens_leaves_no_feed(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subscribe cut short (its task cancelled, as at shutdown) while its room's
    feed opens: the feed comes down after the opening, never half-way through it,
    and the room works afterwards."""
    user, token = await server.user("alice")
    room = await server.room(token, "lobby")
    hub = server.state.hub
    gate, reading = await gate_feed_starts(server, monkeypatch)
    unsubscribed: list[int] = []
    real_unsubscribe = hub.broker.unsubscribe

    async def unsubscribe(room_id: int) -> None:
        unsubscribed.append(room_id)
        await real_unsubscribe(room_id)

    monkeypatch.setattr(hub.broker, "unsubscribe", unsubscribe)
    conn = SimpleNamespace(user_id=user["id"], is_admin=False, user_json=b"{}", subscriptions={}, multiplexed=True)
    sub = Subscription(conn, room["id"])  # type: ignore[arg-type]
    joining = asyncio.create_task(hub.feeds.subscribe(sub))
    await reading.wait()
    joining.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await joining
    leaving = asyncio.create_task(hub.feeds.unsubscribe(sub))
    for _ in range(20):  # not a wait for state: the leave must not finish before the opening does
        await asyncio.sleep(0)
    assert not leaving.done() and not unsubscribed and room["id"] in hub.feeds.open
    gate.set()
    await leaving
    assert room["id"] not in hub.feeds.open and len(unsubscribed) == 1
    client = await server.connect(room["id"], token)
    await client.handshake()
    await client.message("after")
    assert [m["body"] for m in await client.messages(1)] == ["after"]
