"""The hot queries use the indexes the schema defines (SQLite's EXPLAIN QUERY PLAN)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

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
