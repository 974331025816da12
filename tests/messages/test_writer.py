"""Group commit: concurrent sends share transactions and keep every guarantee."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

import aiosqlite
import pytest
from sqlalchemy import text

from service.main import State
from service.messages.entries import RoomGone, StoreResult
from service.messages.store import Pending
from service.messages.writer import MessageWriter
from tests.conftest import Api
from tests.storing import store_batch, store_message


def transactions(results: Sequence[StoreResult]) -> int:
    """How many transactions stored these: a batch shares one created_at."""
    return len({r.message.created_at for r in results if r.created})


async def _setup(api: Api, rooms: int) -> tuple[list[int], int]:
    alice = await api.user("alice")
    made = [await api.room(alice, f"r{i}") for i in range(rooms)]
    return [r["id"] for r in made], made[0]["owner_id"]


async def test_concurrent_sends_are_batched_gapless_and_each_answered(api: Api, state: State) -> None:
    room_ids, uid = await _setup(api, 3)
    # As the WebSocket endpoint sends them: with the sender's name.
    results = await asyncio.gather(
        *(
            state.writer.submit(
                room_id=room_ids[n % 3], user_id=uid, username="alice", body=f"body {n}", client_msg_id=f"id-{n}"
            )
            for n in range(150)
        )
    )
    assert transactions(results) < 50  # 150 messages, far fewer transactions
    for n, result in enumerate(results):
        assert result.created and result.message.body == f"body {n}" and result.message.username == "alice"
    for room_id in room_ids:
        seqs = sorted(r.message.seq for r in results if r.message.room_id == room_id)
        assert seqs == list(range(1, 51))
    # Each answer names its own row: the ids of a many-room batch in the batch's order.
    async with state.engine.connect() as conn:
        rows = {r.id: (r.room_id, r.seq, r.body) for r in await conn.execute(text("SELECT * FROM messages"))}
    assert {r.message.id: (r.message.room_id, r.message.seq, r.message.body) for r in results} == rows


async def test_repeats_in_and_across_batches_store_once(api: Api, state: State) -> None:
    (room_id,), uid = await _setup(api, 1)
    first = await state.writer.submit(
        room_id=room_id, user_id=uid, username=None, body="original", client_msg_id="same"
    )
    results = await asyncio.gather(
        *(
            state.writer.submit(room_id=room_id, user_id=uid, username=None, body=f"again {n}", client_msg_id="same")
            for n in range(5)
        ),
        *(
            state.writer.submit(
                room_id=room_id, user_id=uid, username=None, body="twice in one batch", client_msg_id="new"
            )
            for _ in range(3)
        ),
    )
    assert all(not r.created and r.message.id == first.message.id for r in results[:5])
    new = results[5:]
    assert sum(r.created for r in new) == 1 and len({r.message.id for r in new}) == 1
    page = (await api.client.get(f"/rooms/{room_id}/messages", headers=await api.user("bob"))).json()
    assert [m["body"] for m in page["items"]] == ["original", "twice in one batch"]


async def test_a_deleted_room_fails_only_its_own_messages(api: Api, state: State) -> None:
    (room_id,), uid = await _setup(api, 1)
    results = await asyncio.gather(
        state.writer.submit(room_id=room_id, user_id=uid, username=None, body="kept"),
        state.writer.submit(room_id=987654, user_id=uid, username=None, body="lost"),
        return_exceptions=True,
    )
    assert results[0].created and results[0].message.seq == 1  # type: ignore[union-attr]
    assert isinstance(results[1], RoomGone)


async def test_batch_of_one_commits_each_message(api: Api, state: State) -> None:
    room_ids, uid = await _setup(api, 1)
    writer = MessageWriter(state.engine, max_batch=1)
    writer.start()
    try:
        results = await asyncio.gather(
            *(writer.submit(room_id=room_ids[0], user_id=uid, username="alice", body=f"{n}") for n in range(10))
        )
    finally:
        await writer.stop()
    assert transactions(results) == 10
    assert [r.message.seq for r in results] == list(range(1, 11))


async def test_rooms_with_two_digit_ids_store(api: Api, state: State) -> None:
    """SQLite 3.45-3.46 read an 8-byte blob starting with "{" as binary JSON: a
    batch's JSON parameters must be bound as text (room 12, one message: {"12":1})."""
    room_ids, uid = await _setup(api, 12)
    for room_id in room_ids:
        result = await state.writer.submit(room_id=room_id, user_id=uid, username="alice", body="hi")
        assert result.created and result.message.room_id == room_id


async def test_created_at_is_stored_as_every_other_timestamp(api: Api, state: State) -> None:
    if state.engine.dialect.name != "sqlite":
        pytest.skip("SQLite stores timestamps as text")
    (room_id,), uid = await _setup(api, 1)
    await state.writer.submit(room_id=room_id, user_id=uid, username="alice", body="by the writer")
    await store_message(state.engine, room_id, uid, "one by one")
    async with state.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT created_at FROM messages"))).scalars().all()
        room = (await conn.execute(text("SELECT created_at FROM rooms"))).scalar_one()
    shape = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
    assert shape.fullmatch(room), room  # as the ORM writes it
    assert all(shape.fullmatch(value) for value in stored), stored


async def test_a_cancel_during_commit_is_still_a_cancel(
    api: Api, state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutdown may cancel the writer while SQLite commits in its thread: the batch
    is stored, and the cancel, not a failed rollback, reaches the writer."""
    if state.engine.dialect.name != "sqlite":
        pytest.skip("the driver-level path is SQLite's")
    (room_id,), uid = await _setup(api, 1)
    real = aiosqlite.Connection.execute_fetchall

    async def commit_then_cancelled(self: aiosqlite.Connection, sql: str, params: object = None) -> object:
        rows = await real(self, sql, params)
        if sql == "COMMIT":
            raise asyncio.CancelledError
        return rows

    monkeypatch.setattr(aiosqlite.Connection, "execute_fetchall", commit_then_cancelled)
    batch = [Pending(room_id, uid, "alice", "kept", None)]
    with pytest.raises(asyncio.CancelledError):
        await store_batch(state.engine, batch, look_up_repeats=False)
    monkeypatch.undo()
    page = (await api.client.get(f"/rooms/{room_id}/messages", headers=await api.user("bob"))).json()
    assert [m["body"] for m in page["items"]] == ["kept"]
