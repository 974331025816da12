"""A search that cannot finish in CHAT_SEARCH_TIMEOUT_MS is cancelled in the
database and answered 503 with Retry-After; its connection is clean afterwards
(docs/protocol.md, Search)."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.auth.models import User
from service.config import Settings
from service.db import create_engine, create_sessionmaker
from service.errors import Unavailable
from service.rooms.models import Room
from service.search import query, service
from tests.conftest import Api, make_settings

TIMEOUT_MS = 20
# Every message holds the 16 words of the query's phrases, but only the oldest in
# their order: both engines check the phrases of every newer message before they
# find a page (150-250 ms for 30,000 messages on a quiet machine, 10 times the
# timeout). PostgreSQL's probe finds more than PROBE matches, so its ordered walk runs.
WORDS = [letter * 2 for letter in "abcdefghijklmnop"]
CYCLE = WORDS + WORDS
IN_ORDER, REVERSED = " ".join(CYCLE), " ".join(reversed(CYCLE))
SLOW_QUERY = " ".join('"' + " ".join(CYCLE[i : i + 9]) + '"' for i in range(16))
TOTAL, IN_ORDER_ROWS = 30_000, 3_000

_FILL = {
    "sqlite": """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :total)
        INSERT INTO messages (room_id, seq, user_id, body, search_text, created_at)
        SELECT :room, i, :user, t, t, '2026-01-01 00:00:00.000000'
        FROM (SELECT i, CASE WHEN i <= :in_order THEN :a ELSE :b END AS t FROM n)
    """,
    "postgresql": """
        INSERT INTO messages (room_id, seq, user_id, body, search_text, created_at)
        SELECT :room, i, :user, t, t, now()
        FROM (SELECT i, CASE WHEN i <= :in_order THEN :a ELSE :b END AS t FROM generate_series(1, :total) AS i) AS s
    """,
}
# A statement that runs past QUICK_TIMEOUT_MS (0.7 s on a quiet machine), on each engine.
QUICK_TIMEOUT_MS = 300
_SLOW_STATEMENT = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000000)"
    " SELECT count(*) FROM n",
    "postgresql": "SELECT count(*) FROM pg_sleep(0.7)",
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, search_timeout_ms=TIMEOUT_MS)


async def _fill(engine: AsyncEngine, room_id: int, user_id: int) -> None:
    params = {"total": TOTAL, "in_order": IN_ORDER_ROWS, "room": room_id, "user": user_id}
    async with engine.begin() as conn:
        await conn.execute(text(_FILL[engine.dialect.name]), {**params, "a": IN_ORDER, "b": REVERSED})
        await conn.execute(update(Room).where(Room.id == room_id).values(last_seq=TOTAL))


async def test_a_search_past_the_timeout_is_cancelled_in_the_database_and_answered_503(api: Api) -> None:
    alice = await api.user("alice")
    room = await api.room(alice, "archive")
    engine = api.state.engine
    await _fill(engine, room["id"], room["owner_id"])
    r = await api.client.get("/search", params={"q": SLOW_QUERY}, headers=alice)
    assert r.status_code == 503, r.text[:200]
    assert int(r.headers["Retry-After"]) >= 1
    assert "took too long" in r.json()["detail"]
    if engine.dialect.name == "postgresql":
        # The backend stopped: no statement of the search runs on after the answer.
        async with engine.connect() as conn:
            running = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%tsquery%'"
                )
            )
        assert running == 0


async def test_a_cut_off_search_leaves_its_connection_clean(database_url: str, api: Api) -> None:
    """One connection serves every session here: after a search, cut off or not,
    it runs a statement longer than the search's timeout to its end (no interrupt
    or statement_timeout lingers), and searches as before."""
    alice = await api.user("alice")
    room = await api.room(alice, "archive")
    await _fill(api.state.engine, room["id"], room["owner_id"])
    reader = User(id=room["owner_id"], is_admin=False)
    slow, quick = query.parse(SLOW_QUERY), query.parse("aa")
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    sessions = create_sessionmaker(engine)
    postgres = engine.dialect.name == "postgresql"

    async def search(session: AsyncSession, terms: list[query.Term], timeout_ms: int) -> int:
        rows, _ = await service.search(
            session, reader, terms, room_id=None, before_id=None, limit=20, timeout_ms=timeout_ms
        )
        return len(rows)

    try:
        async with sessions() as session:
            # Longer than TIMEOUT_MS, so that on a loaded machine too the time runs
            # out inside the slow statement rather than before it starts.
            with pytest.raises(Unavailable) as cut:
                await search(session, slow, 60)
            # Stopped by the database inside the statement, not found late between two.
            assert isinstance(cut.value.__cause__, DBAPIError)
            await session.rollback()
        async with sessions() as session:
            if postgres:
                assert await session.scalar(text("SHOW statement_timeout")) == "0"
            assert await search(session, quick, QUICK_TIMEOUT_MS) == 20
            if postgres:
                assert await session.scalar(text("SHOW statement_timeout")) == "0"
            await session.execute(text(_SLOW_STATEMENT[engine.dialect.name]))
            assert await search(session, slow, 60_000) == 20
    finally:
        await engine.dispose()
