"""Migration 0009 gives the messages stored before it their words, indexes them
on both engines, and undoes itself back to 0004's index of the bodies."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from service import migrate
from tests.conftest import POSTGRES_ADMIN_URL, _pg, make_settings, require_service

Query = Callable[[str], list[tuple[Any, ...]]]

SETUP = [
    "INSERT INTO users (id, username, username_key, password_hash, is_admin, created_at)"
    " VALUES (1, 'alice', 'alice', 'x', false, '2026-01-01 00:00:00')",
    "INSERT INTO rooms (id, kind, name, name_key, description, private, owner_id, created_at, last_seq)"
    " VALUES (1, 'room', 'general', 'general', '', false, 1, '2026-01-01 00:00:00', 4)",
    "INSERT INTO messages (id, room_id, seq, user_id, body, created_at, kind, deleted)"
    " VALUES (1, 1, 1, 1, 'Mail Alice.Smith@example.com, Café', '2026-01-01 00:00:00', 'message', false)",
    "INSERT INTO messages (id, room_id, seq, user_id, body, created_at, kind, deleted)"
    " VALUES (2, 1, 2, 1, NULL, '2026-01-01 00:00:00', 'message', true)",
    "INSERT INTO messages (id, room_id, seq, user_id, body, created_at, kind, deleted, target_seq)"
    " VALUES (3, 1, 3, 1, 'hello there', '2026-01-01 00:00:00', 'edit', false, 1)",
    "INSERT INTO messages (id, room_id, seq, user_id, body, created_at, kind, deleted)"
    " VALUES (4, 1, 4, 1, 'hello world', '2026-01-01 00:00:00', 'message', false)",
]
FOUND = {
    "sqlite": "SELECT rowid FROM messages_fts WHERE messages_fts MATCH '\"{}\"' ORDER BY rowid",
    "postgresql": "SELECT id FROM messages WHERE search @@ CAST('''{}''' AS tsquery) ORDER BY id",
}
# 0004's index of the bodies, back after the downgrade.
FOUND_BEFORE = {
    "sqlite": FOUND["sqlite"],
    "postgresql": "SELECT id FROM messages WHERE search @@ to_tsquery('simple', '{}') ORDER BY id",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, Query]]:
    """A database of its own at 0008, and a way to query it."""
    if request.param == "sqlite":
        path = tmp_path / "m.db"

        def run_sqlite(sql: str) -> list[tuple[Any, ...]]:
            with sqlite3.connect(path) as conn:
                return conn.execute(sql).fetchall()

        yield "sqlite", f"sqlite+aiosqlite:///{path}", run_sqlite
        return
    name = f"chat_test_m_{uuid.uuid4().hex[:12]}"
    try:
        _pg(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        require_service("PostgreSQL", exc)
    url = f"{POSTGRES_ADMIN_URL.rpartition('/')[0]}/{name}"

    def run_postgres(sql: str) -> list[tuple[Any, ...]]:
        import asyncpg

        async def fetch() -> list[tuple[Any, ...]]:
            conn = await asyncpg.connect(url, timeout=5)
            try:
                return [tuple(r) for r in await conn.fetch(sql)]
            finally:
                await conn.close()

        return asyncio.run(fetch())

    try:
        yield "postgresql", url.replace("postgresql://", "postgresql+asyncpg://", 1), run_postgres
    finally:
        _pg(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_0009_indexes_the_words_of_messages_stored_before_and_undoes_itself(database: tuple[str, str, Query]) -> None:
    engine, url, run = database
    settings = make_settings(url)
    migrate.upgrade(settings, "0008")
    for statement in SETUP:
        run(statement.replace("false", "0").replace("true", "1") if engine == "sqlite" else statement)
    migrate.upgrade(settings)
    assert run("SELECT id, search_text FROM messages ORDER BY id") == [
        (1, "mail alice smith example com cafe"),
        (2, None),
        (3, None),
        (4, "hello world"),
    ]
    for word, ids in {"smith": [1], "cafe": [1], "hello": [4], "there": []}.items():
        assert [i for (i,) in run(FOUND[engine].format(word))] == ids, word
    migrate.downgrade(settings, "0008")
    assert [i for (i,) in run(FOUND_BEFORE[engine].format("hello"))] == [4]
    migrate.upgrade(settings)
    assert [i for (i,) in run(FOUND[engine].format("smith"))] == [1]
