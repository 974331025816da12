"""The hot queries use the indexes the schema defines (SQLite's EXPLAIN QUERY PLAN)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from service.messages import store

HOT_QUERIES = {
    "replay": "SELECT * FROM messages WHERE room_id = 1 AND seq > 5 AND seq <= 900 ORDER BY seq DESC LIMIT 1000",
    "history forward": "SELECT * FROM messages WHERE room_id = 1 AND seq > 5 ORDER BY seq LIMIT 51",
    "history backward": "SELECT * FROM messages WHERE room_id = 1 AND seq < 90 ORDER BY seq DESC LIMIT 51",
    "idempotency": "SELECT * FROM messages WHERE room_id = 1 AND user_id = 2 AND client_msg_id = 'x'",
    "visible rooms": "SELECT * FROM room_members WHERE room_id = 1 AND user_id = 2",
    "login": "SELECT * FROM users WHERE username_key = 'alice'",
}


@pytest.mark.parametrize("name", HOT_QUERIES)
def test_hot_query_searches_an_index_and_never_sorts(migrated_template: Path, name: str) -> None:
    with sqlite3.connect(migrated_template) as conn:
        plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + HOT_QUERIES[name]))
    assert "SEARCH" in plan and ("INDEX" in plan or "PRIMARY KEY" in plan), plan
    assert "TEMP B-TREE" not in plan and not plan.startswith("SCAN"), plan


@pytest.mark.parametrize("statement", ["_SQLITE_RESERVE", "_SQLITE_RESERVED", "_SQLITE_INSERT"])
def test_batch_statements_never_scan_a_table(migrated_template: Path, statement: str) -> None:
    """The writer's SQLite statements touch rooms by primary key and read messages'
    highest id from the index end, whatever the table sizes."""
    sql = getattr(store, statement)
    params = ('{"1": 2}', "2026-01-01 00:00:00")[: 1 + sql.count("?2")]
    with sqlite3.connect(migrated_template) as conn:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    assert not [
        step for step in plan if step.startswith("SCAN") and "json_each" not in step and "counts" not in step
    ], plan
    if "rooms" in sql:
        assert "SEARCH rooms USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
