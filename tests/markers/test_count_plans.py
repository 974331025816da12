"""Each count above a marker reads only its own index, and only above the marker
(SQLite's EXPLAIN QUERY PLAN on the statements the service runs): a room's or a
thread's whole history is never read to count it."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.auth.models import User
from service.markers.mentions import my_mentions
from service.markers.service import my_rooms
from service.markers.threads import mark_thread_read, my_threads
from tests.plans import plans_of

ME = User(id=1, is_admin=False)
# Each named count, as SQLite plans it for one room or thread of the page.
UNCOUNTED = "SEARCH messages USING COVERING INDEX ix_messages_uncounted (room_id=? AND seq>?)"
REPLIES = "SEARCH messages USING COVERING INDEX ix_messages_replies (room_id=? AND thread_seq=? AND seq>?)"
NAMED = "SEARCH mentions USING COVERING INDEX ix_mentions_unread (user_id=? AND room_id=? AND thread_seq=? AND seq>?)"
# Covering: the index's condition (mentions_room) is a column of it too.
EVERYONE = "SEARCH messages USING COVERING INDEX ix_messages_room_mentions (room_id=? AND thread_seq=? AND seq>?)"


def _scans(plan: list[str]) -> list[str]:
    return [step for step in plan if step.startswith(("SCAN messages", "SCAN mentions", "SCAN thread_markers"))]


async def test_room_counts_read_the_uncounted_and_the_mention_indexes(migrated_template: Path, tmp_path: Path) -> None:
    plans = await plans_of(migrated_template, tmp_path, lambda session: my_rooms(session, ME))
    ((statement, plan),) = [(s, p) for s, p in plans.items() if "count(" in s]
    for step in (UNCOUNTED, NAMED, EVERYONE):
        assert step in plan, (step, plan)
    assert REPLIES not in plan and not _scans(plan), plan


async def test_thread_counts_read_the_reply_and_the_mention_indexes(migrated_template: Path, tmp_path: Path) -> None:
    plans = await plans_of(migrated_template, tmp_path, lambda session: my_threads(session, ME))
    ((statement, plan),) = [(s, p) for s, p in plans.items() if "count(" in s]
    for step in (REPLIES, NAMED, EVERYONE):
        assert step in plan, (step, plan)
    assert "SEARCH thread_markers USING INDEX sqlite_autoindex_thread_markers_1 (user_id=?)" in plan, plan
    assert UNCOUNTED not in plan and not _scans(plan), plan


async def test_moving_a_thread_marker_reads_the_threads_newest_reply_from_its_index(
    migrated_template: Path, tmp_path: Path
) -> None:
    plans = await plans_of(migrated_template, tmp_path, lambda session: mark_thread_read(session, 1, 1, 1, 5))
    ((statement, plan),) = [(s, p) for s, p in plans.items() if "UPDATE thread_markers" in s]
    marker = (
        "SEARCH thread_markers USING INDEX sqlite_autoindex_thread_markers_1 (user_id=? AND room_id=? AND root_seq=?)"
    )
    assert plan[0] == marker, plan
    assert "SEARCH messages USING COVERING INDEX ix_messages_replies (room_id=? AND thread_seq=?)" in plan, plan
    assert not _scans(plan), plan


@pytest.mark.parametrize("before_id", [None, 1000])
async def test_the_mentions_page_walks_the_users_mentions_and_the_room_mention_index(
    migrated_template: Path, tmp_path: Path, before_id: int | None
) -> None:
    plans = await plans_of(migrated_template, tmp_path, lambda session: my_mentions(session, ME, 20, before_id))
    named, everyone = (
        [p for s, p in plans.items() if "FROM mentions" in s],
        [p for s, p in plans.items() if "mentions_room" in s],
    )
    ((named_plan,), (everyone_plan,)) = named, everyone
    # The user's mentions, newest first, straight from the primary key: no sort.
    assert named_plan[0].startswith("SEARCH mentions USING INDEX sqlite_autoindex_mentions_1 (user_id=?"), named_plan
    assert not any("TEMP B-TREE" in step for step in named_plan), named_plan
    assert everyone_plan[0].startswith("SEARCH messages USING COVERING INDEX ix_messages_room_mentions (room_id=?"), (
        everyone_plan
    )
    assert not _scans(named_plan + everyone_plan)
