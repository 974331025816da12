"""PostgreSQL: a plain batch in one statement, and writers on one database (as
instances are) storing into the same rooms at once, gapless and without deadlock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, select, text

from service.main import State
from service.messages import postgres_plain
from service.messages.entries import StoreResult
from service.messages.writer import MessageWriter
from service.tables import room_members
from tests.conftest import Api


def _postgres_only(state: State) -> None:
    if state.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's batch statement")


async def _rooms(api: Api, n: int) -> tuple[list[int], int]:
    alice = await api.user("alice")
    made = [await api.room(alice, f"r{i}") for i in range(n)]
    return [r["id"] for r in made], made[0]["owner_id"]


async def test_a_plain_batch_of_many_rooms_is_one_statement(api: Api, state: State) -> None:
    _postgres_only(state)
    room_ids, uid = await _rooms(api, 3)
    writer = MessageWriter(state.engine, 500)
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(state.engine.sync_engine, "before_cursor_execute", before)
    try:
        futures = [
            writer.submit(room_id=room_ids[n % 3], user_id=uid, username="alice", body=f"m{n}", client_msg_id=f"c{n}")
            for n in range(30)
        ]
        writer.start()  # after the submits: the 30 are one batch
        results = await asyncio.gather(*futures)
    finally:
        await writer.stop()
        event.remove(state.engine.sync_engine, "before_cursor_execute", before)
    assert len(seen) == 1, seen
    assert {r.message.created_at for r in results} == {results[0].message.created_at}
    assert sorted((r.message.room_id, r.message.seq) for r in results) == [
        (room_id, seq) for room_id in sorted(room_ids) for seq in range(1, 11)
    ]


async def test_writers_on_one_database_keep_every_room_gapless(api: Api, state: State) -> None:
    _postgres_only(state)
    room_ids, uid = await _rooms(api, 6)
    writers = [MessageWriter(state.engine, 40), MessageWriter(state.engine, 25)]
    for writer in writers:
        writer.start()
    try:
        # Each writer's batches span the rooms in another order: locks taken in any
        # other order than the rooms' ids would deadlock them.
        orders = [room_ids, room_ids[::-1]]
        results: list[StoreResult] = list(
            await asyncio.gather(
                *(
                    writers[w].submit(
                        room_id=orders[w][n % 6], user_id=uid, username="alice", body=f"{w}:{n}", client_msg_id=None
                    )
                    for n in range(300)
                    for w in (0, 1)
                )
            )
        )
    finally:
        for writer in writers:
            await writer.stop()
    assert all(r.created for r in results)
    for room_id in room_ids:
        seqs = sorted(r.message.seq for r in results if r.message.room_id == room_id)
        assert seqs == list(range(1, 101))
    async with state.engine.connect() as conn:
        rows = {r.id: (r.room_id, r.seq, r.body) for r in await conn.execute(text("SELECT * FROM messages"))}
        marked = await conn.execute(select(room_members.c.room_id, room_members.c.last_read_seq))
        markers = {room_id: seq for room_id, seq in marked}
    assert {r.message.id: (r.message.room_id, r.message.seq, r.message.body) for r in results} == rows
    # Each send moved its sender's read marker up to their last message in the room.
    assert markers == dict.fromkeys(room_ids, 100)


async def test_a_connection_ended_while_the_writer_was_idle_fails_no_batch(
    api: Api, state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database restarted, or dropped the idle connection: the next batch takes
    a connection the pool has checked."""
    _postgres_only(state)
    monkeypatch.setattr(postgres_plain, "IDLE_SECONDS", 0.0)  # any pause counts as idle
    (room_id,), uid = await _rooms(api, 1)
    writer = MessageWriter(state.engine, 500)
    writer.start()
    try:
        first = await writer.submit(room_id=room_id, user_id=uid, username="alice", body="before")
        async with state.engine.connect() as conn:
            ended = await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            assert any(ok for (ok,) in ended)
        second = await writer.submit(room_id=room_id, user_id=uid, username="alice", body="after")
    finally:
        await writer.stop()
    assert (first.message.seq, second.message.seq) == (1, 2)
