"""The hot queries use the indexes the schema defines (SQLite's EXPLAIN QUERY PLAN)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from service.auth.models import User
from service.markers.service import my_rooms
from service.messages import sqlite_extras, sqlite_store
from tests.plans import plans_of

HOT_QUERIES = {
    "replay": "SELECT * FROM messages WHERE room_id = 1 AND seq > 5 AND seq <= 900 ORDER BY seq DESC LIMIT 1000",
    "history forward": "SELECT * FROM messages WHERE room_id = 1 AND seq > 5 ORDER BY seq LIMIT 51",
    "history backward": "SELECT * FROM messages WHERE room_id = 1 AND seq < 90 ORDER BY seq DESC LIMIT 51",
    "idempotency": "SELECT * FROM messages WHERE room_id = 1 AND user_id = 2 AND client_msg_id = 'x'",
    # New feeds' newest entries, many rooms in one query (service.messages.stream_reads.read_ranges).
    "newest of new feeds": "SELECT * FROM messages WHERE room_id = 1 AND seq > 5 AND seq <= 69"
    " OR room_id = 2 AND seq > 0 AND seq <= 3",
    "events page": "SELECT * FROM messages WHERE room_id = 1 AND seq > 5 ORDER BY seq LIMIT 101",
    "edits of a deleted message": "UPDATE messages SET body = NULL WHERE room_id = 1 AND target_seq = 7",
    "visible rooms": "SELECT * FROM room_members WHERE room_id = 1 AND user_id = 2",
    "login": "SELECT * FROM users WHERE username_key = 'alice'",
}


@pytest.mark.parametrize("name", HOT_QUERIES)
def test_hot_query_searches_an_index_and_never_sorts(migrated_template: Path, name: str) -> None:
    with sqlite3.connect(migrated_template) as conn:
        plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + HOT_QUERIES[name]))
    assert "SEARCH" in plan and ("INDEX" in plan or "PRIMARY KEY" in plan), plan
    assert "TEMP B-TREE" not in plan and not plan.startswith("SCAN"), plan


@pytest.mark.parametrize("statement", ["_RESERVE", "_RESERVED", "_INSERT", "_ADVANCE_MARKERS"])
def test_batch_statements_never_scan_a_table(migrated_template: Path, statement: str) -> None:
    """The writer's SQLite statements touch rooms by primary key and read messages'
    highest id from the index end, whatever the table sizes."""
    sql = getattr(sqlite_store, statement)
    params = ('{"1": 2}', "2026-01-01 00:00:00")[: 1 + sql.count("?2")]
    with sqlite3.connect(migrated_template) as conn:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    assert not [
        step for step in plan if step.startswith("SCAN") and "json_each" not in step and "counts" not in step
    ], plan
    if "UPDATE rooms" in sql or "FROM rooms" in sql:
        assert "SEARCH rooms USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
    if "room_members" in sql:
        assert any(step.startswith("SEARCH room_members USING INDEX") for step in plan), plan


async def test_unread_counts_read_only_the_entries_that_do_not_count(migrated_template: Path, tmp_path: Path) -> None:
    """GET /users/me/rooms counts, above each marker, only the entries that are not
    unread messages (events, deleted messages) from the partial index
    ix_messages_uncounted, without visiting the table: the query's condition must
    match the index's literally.
    A plain message adds no entry to it, so the write path does not pay for unread counts."""
    plans = await plans_of(migrated_template, tmp_path, lambda session: my_rooms(session, User(id=1, is_admin=False)))
    ((plan,),) = [[p for s, p in plans.items() if "count(" in s]]
    assert any("USING COVERING INDEX ix_messages_uncounted" in step for step in plan), plan
    assert not any(step.startswith("SCAN messages") for step in plan), plan


@pytest.mark.parametrize(
    ("module", "statement"),
    [
        (sqlite_store, "_RESERVED_MORE"),
        (sqlite_store, "_INSERT_MORE"),
        (sqlite_extras, "ROOT_COUNTS"),
        (sqlite_extras, "MENTION_ROWS"),
        (sqlite_extras, "MARKERS"),
        (sqlite_extras, "ATTACH"),
    ],
)
def test_the_statements_of_replies_and_mentions_never_scan_a_table(
    migrated_template: Path, module: object, statement: str
) -> None:
    """What a batch with replies, files or mentions adds reads roots, members, files and markers by their keys."""
    sql = getattr(module, statement)
    params = ['{"1": 2}', "[[1, 2]]", "[[1, 2]]", '[[1, "bob"]]', "[1]"][
        : max(int(n) for n in re.findall(r"\?(\d)", sql))
    ]
    with sqlite3.connect(migrated_template) as conn:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    assert not [step for step in plan if step.startswith("SCAN") and "VIRTUAL TABLE" not in step], plan
