"""Reads never wait for writes, and never hold them up (SPEC 7): a read holds no
write lock on SQLite, and on both engines reads draw on connections of their own,
so the message writer always has one."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from service import db
from service.main import State
from service.messages.models import Message
from service.rooms.models import Room
from tests.realtime.conftest import Client, LiveServer, ServerFactory, auth

# Long enough to tell "answered beside the other transaction" from "waited for it"
# (SQLite's busy timeout is 30 s), short enough that a failure fails fast.
PROMPT_S = 5.0


async def _echoed(client: Client, body: str) -> float:
    """Send a message and wait for its echo; the milliseconds it took."""
    started = time.perf_counter()
    await client.message(body)
    frame = await client.recv_type("message", timeout=PROMPT_S)
    assert frame["body"] == body, frame
    return (time.perf_counter() - started) * 1000


def _percentile(values: list[float], fraction: float) -> float:
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, int(fraction * len(ranked)))]


async def test_a_read_session_refuses_to_write(state: State) -> None:
    async with state.reads() as session:
        assert (await session.execute(text("SELECT count(*) FROM rooms"))).scalar_one() == 0
        with pytest.raises(DBAPIError):
            await session.execute(update(Room).values(description="x"))


async def test_a_held_read_transaction_never_delays_a_store(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    client = await server.connect(room["id"], token)
    await client.handshake()
    async with server.state.reads() as session:
        await session.execute(text("SELECT count(*) FROM messages"))
        assert session.in_transaction()
        async with asyncio.timeout(PROMPT_S):
            for i in range(20):
                await _echoed(client, f"m{i}")
        # The read transaction stayed open the whole time.
        assert session.in_transaction()
    assert [m["body"] for m in await server.history(token, room["id"])] == [f"m{i}" for i in range(20)]


async def test_reads_answer_while_a_write_transaction_is_open(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "general", description="before")
    async with server.state.sessionmaker() as session:
        # Holds SQLite's write lock (BEGIN IMMEDIATE), and the room's row lock on PostgreSQL.
        await session.execute(update(Room).where(Room.id == room["id"]).values(description="uncommitted"))
        async with asyncio.timeout(PROMPT_S):
            r = await server.http.get(f"/rooms/{room['id']}", headers=auth(token))
            assert r.status_code == 200 and r.json()["description"] == "before", r.text
            r = await server.http.get(f"/rooms/{room['id']}/messages", headers=auth(token))
            assert r.status_code == 200 and r.json()["items"] == [], r.text
            # A socket's token check, room check and replay are reads too.
            client = await server.connect(room["id"], token)
            welcome, _, _ = await client.handshake()
            assert welcome["room"]["description"] == "before"
        await session.rollback()


# A search that reads a lot and finds little: every message holds all 16 words,
# but only the oldest hold them in the order of the query's phrases, so both
# engines check the phrases of every newer message before they find a page.
WORDS = [letter * 2 for letter in "abcdefghijklmnop"]
CYCLE = WORDS + WORDS
IN_ORDER = " ".join(CYCLE)
REVERSED = " ".join(reversed(CYCLE))
SLOW_QUERY = " ".join('"' + " ".join(CYCLE[i : i + 9]) + '"' for i in range(16))  # 16 terms, 463 characters
FILL = {"sqlite": 200_000, "postgresql": 160_000}
IN_ORDER_ROWS = 3_000  # over PostgreSQL's probe (search/service.py): the ordered walk runs
SLOW_ENOUGH_MS = 500

_FILL_SQL = {
    "sqlite": """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :total),
        rows(i, body) AS (SELECT i, CASE WHEN i <= :in_order THEN :a ELSE :b END FROM n)
        INSERT INTO messages (room_id, seq, user_id, body, created_at{text_column})
        SELECT :room, i, :user, body, '2026-01-01 00:00:00.000000'{text_value} FROM rows
    """,
    "postgresql": """
        WITH rows(i, body) AS (
            SELECT i, CASE WHEN i <= :in_order THEN :a ELSE :b END FROM generate_series(1, :total) AS i)
        INSERT INTO messages (room_id, seq, user_id, body, created_at{text_column})
        SELECT :room, i, :user, body, now(){text_value} FROM rows
    """,
}


async def _fill(server: LiveServer, room_id: int, user_id: int) -> int:
    engine = server.state.engine
    total = FILL[engine.dialect.name]
    params = {"total": total, "room": room_id, "user": user_id, "in_order": IN_ORDER_ROWS}
    sql = _FILL_SQL[engine.dialect.name]
    # Where the service stores the words it indexes beside the body: these bodies
    # are folded words already, their own search text.
    stored_words = "search_text" in Message.__table__.c
    sql = sql.format(text_column=", search_text" if stored_words else "", text_value=", body" if stored_words else "")
    async with engine.begin() as conn:
        await conn.execute(text(sql), {**params, "a": IN_ORDER, "b": REVERSED})
        await conn.execute(update(Room).where(Room.id == room_id).values(last_seq=total))
    return total


async def test_a_slow_search_leaves_message_echoes_prompt(server: LiveServer) -> None:
    engine = server.state.engine.dialect.name
    alice, alice_token = await server.user("alice")
    archive = await server.room(alice_token, "archive")
    fill_started = time.perf_counter()
    rows = await _fill(server, archive["id"], alice["id"])
    fill_ms = (time.perf_counter() - fill_started) * 1000
    _, bob_token = await server.user("bob")
    live = await server.room(bob_token, "live")
    client = await server.connect(live["id"], bob_token)
    await client.handshake()

    async def search() -> tuple[int, float]:
        started = time.perf_counter()
        r = await server.http.get("/search", params={"q": SLOW_QUERY}, headers=auth(alice_token), timeout=30)
        assert r.status_code in (200, 503), r.text
        return r.status_code, (time.perf_counter() - started) * 1000

    searching = asyncio.create_task(search())
    echoes = [await _echoed(client, "during the search")]
    # Echoes that came back while the search still ran: a search that held the
    # writer or the loop would let at most the one in flight through.
    beside = int(not searching.done())
    while not searching.done():
        echoes.append(await _echoed(client, "during the search"))
        beside += int(not searching.done())
    status, search_ms = await searching
    p50, p99 = _percentile(echoes, 0.5), _percentile(echoes, 0.99)
    print(
        f"\n[{engine}] {rows} messages filled in {fill_ms:.0f} ms; search {search_ms:.0f} ms ({status}); "
        f"{len(echoes)} echoes meanwhile: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(echoes):.1f} ms"
    )
    assert search_ms > SLOW_ENOUGH_MS, f"the search took {search_ms:.0f} ms: the setup is too small to show anything"
    assert beside >= 2, f"only {beside} echoes came back while a {search_ms:.0f} ms search ran"


async def test_reads_holding_every_read_connection_starve_no_write(
    make_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A starved read gives up after this long (10 s in service): 503, never 500.
    monkeypatch.setattr(db, "READ_POOL_TIMEOUT_SECONDS", 1.0)
    server = await make_server()
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    client = await server.connect(room["id"], token)
    await client.handshake()
    held = db.READ_POOL["pool_size"] + db.READ_POOL["max_overflow"]
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(held):
            session = await stack.enter_async_context(server.state.reads())
            await session.execute(text("SELECT 1"))
        async with asyncio.timeout(PROMPT_S):
            echo_ms = await _echoed(client, "stored all the same")
            # A REST write: its own session and the writer's connection.
            r = await server.http.patch(f"/rooms/{room['id']}/messages/1", json={"body": "edited"}, headers=auth(token))
            assert r.status_code == 200, r.text
            r = await server.http.get(f"/rooms/{room['id']}/messages", headers=auth(token))
        assert r.status_code == 503 and r.headers["Retry-After"], r.text
    print(f"\n[{server.state.engine.dialect.name}] {held} reads held: echo {echo_ms:.1f} ms, a read waiting: 503")
    assert [m["body"] for m in await server.history(token, room["id"])] == ["edited"]
