"""A new room's first socket: the feed's opening read is the only database work of
the connect, one read transaction (with a private room's opener's access in it).
On a SQLite file it is one hand-off to a worker thread, a WAL reader that never
waits for the writer; elsewhere it runs on the async read engine."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from tests.realtime.conftest import Client, LiveServer, auth

T = TypeVar("T")


@dataclass
class Seen:
    """What the server asked of its databases while it was watched."""

    on_loop: list[str] = field(default_factory=list)  # statements on the async engines (aiosqlite, asyncpg)
    in_threads: dict[int, list[str]] = field(default_factory=dict)  # thread id -> what SQLite ran for the thread engine
    through_core: list[str] = field(default_factory=list)  # of those, the statements Core executed
    thread_checkouts: int = 0
    hand_offs: int = 0  # asyncio.to_thread calls


def watch(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Seen:
    seen = Seen()

    def on_loop(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.on_loop.append(statement)

    def in_thread(statement: str) -> None:
        seen.in_threads.setdefault(threading.get_ident(), []).append(statement)

    def through_core(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.through_core.append(statement)

    def checkout(dbapi_connection: Any, *_: Any) -> None:
        seen.thread_checkouts += 1
        # What SQLite itself runs: statements on the driver's cursor too.
        dbapi_connection.set_trace_callback(in_thread)

    def checkin(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.set_trace_callback(None)

    state = server.state
    for engine in {id(e): e for e in (state.engine, state.read_engine)}.values():
        event.listen(engine.sync_engine, "before_cursor_execute", on_loop)
    thread_engine = state.hub.feeds.starts.thread_engine
    if thread_engine is not None:
        event.listen(thread_engine, "before_cursor_execute", through_core)
        event.listen(thread_engine, "checkout", checkout)
        event.listen(thread_engine, "checkin", checkin)
    real = asyncio.to_thread

    async def to_thread(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        seen.hand_offs += 1
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", to_thread)
    return seen


async def _checked(server: LiveServer, token: str, name: str) -> None:
    """The user's token checked by a socket into another room, so a connect's only
    read is its room's."""
    other = await server.room(token, name)
    keeper = await server.connect(other["id"], token)
    await keeper.handshake()


async def _first(server: LiveServer, room_id: int, token: str) -> tuple[Client, dict[str, Any]]:
    client = await server.connect(room_id, token)
    welcome, replay, synced = await client.handshake()
    assert replay == [] and synced["last_seq"] == 0
    return client, welcome


def _rooms_read(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM rooms" in s or "FROM room_members" in s]


async def test_a_new_rooms_first_socket_reads_its_room_in_one_hand_off(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = await server.user("alice")
    await _checked(server, token, "lobby")
    room = await server.room(token, "general")
    seen = watch(server, monkeypatch)
    client, welcome = await _first(server, room["id"], token)
    assert welcome["room"]["name"] == "general"
    if server.state.hub.feeds.starts.thread_engine is None:  # PostgreSQL: on the async read engine
        assert _rooms_read(seen.on_loop) == seen.on_loop and len(seen.on_loop) == 1, seen.on_loop
        return
    assert seen.on_loop == []  # not one step through aiosqlite's thread
    assert seen.hand_offs == 1 and seen.thread_checkouts == 1
    ((thread, statements),) = seen.in_threads.items()
    assert thread != threading.get_ident()
    # A WAL reader's transaction: BEGIN (deferred), the room's row; no write lock asked for.
    assert statements[0] == "BEGIN" and len(_rooms_read(statements)) == 1, statements
    # The room's row on the driver's cursor: Core ran the BEGIN alone.
    assert seen.through_core == ["BEGIN"], seen.through_core
    await client.message("hello")
    assert [m["body"] for m in await client.messages(1)] == ["hello"]


async def test_a_members_first_socket_into_a_private_room_reads_its_access_with_the_room(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, owner = await server.user("alice")
    _, bob_token = await server.user("bob")
    await _checked(server, owner, "lobby")
    await _checked(server, bob_token, "hall")
    room = await server.room(owner, "team", private=True)
    r = await server.http.post(f"/rooms/{room['id']}/members", json={"username": "bob"}, headers=auth(owner))
    assert r.status_code == 201, r.text
    seen = watch(server, monkeypatch)
    await _first(server, room["id"], bob_token)
    statements = seen.on_loop + [s for found in seen.in_threads.values() for s in found]
    reads = _rooms_read(statements)
    assert len(reads) == 2 and "FROM room_members" in reads[1], statements  # in one transaction:
    if server.state.hub.feeds.starts.thread_engine is None:
        assert reads == seen.on_loop
    else:
        assert seen.on_loop == [] and seen.hand_offs == 1 and seen.thread_checkouts == 1
    # Served from what the feed read: no second read for the user's access.
    seen.on_loop.clear()
    seen.in_threads.clear()
    await _first(server, room["id"], bob_token)
    assert seen.on_loop == [] and seen.in_threads == {}


async def test_a_non_members_first_socket_into_a_private_room_is_refused(server: LiveServer) -> None:
    _, owner = await server.user("alice")
    _, eve_token = await server.user("eve")
    room = await server.room(owner, "team", private=True)
    stranger = await server.connect(room["id"], eve_token)
    assert await stranger.closed() == (1008, "room not found")
    member, _ = await _first(server, room["id"], owner)
    await member.message("still works")
    assert [m["body"] for m in await member.messages(1)] == ["still works"]


async def test_a_new_rooms_first_socket_opens_while_a_writer_holds_the_lock(
    server: LiveServer, database_url: str
) -> None:
    """The first read is a WAL reader: it neither waits for the writer nor takes the
    lock (waiting for it would fail the connect after the busy timeout)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    _, token = await server.user("alice")
    await _checked(server, token, "lobby")
    room = await server.room(token, "general")
    path = make_url(database_url).database
    assert path is not None
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        writer.execute("BEGIN IMMEDIATE")
        client, welcome = await _first(server, room["id"], token)
        assert welcome["room"]["id"] == room["id"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    await client.message("after")
    assert [m["body"] for m in await client.messages(1)] == ["after"]


def _thread_engine(server: LiveServer) -> Engine | None:
    return server.state.hub.feeds.starts.thread_engine


async def test_the_thread_engine_is_a_sqlite_files_alone(server: LiveServer, database_url: str) -> None:
    engine = _thread_engine(server)
    assert (engine is not None) == database_url.startswith("sqlite")
    if engine is not None:
        with engine.connect() as conn:  # its connections refuse to write
            assert conn.exec_driver_sql("PRAGMA query_only").scalar() == 1
