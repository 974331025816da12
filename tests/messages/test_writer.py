"""Group commit: concurrent sends share transactions and keep every guarantee."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from sqlalchemy import event

from service.messages.store import MessageWriter, RoomGone
from service.resources import Resources
from tests.conftest import Api


@contextlib.contextmanager
def counting_commits(resources: Resources) -> Iterator[list[int]]:
    """[n]: the commits on the app's engine while the block runs."""
    count = [0]

    def on_commit(_conn: object) -> None:
        count[0] += 1

    event.listen(resources.engine.sync_engine, "commit", on_commit)
    try:
        yield count
    finally:
        event.remove(resources.engine.sync_engine, "commit", on_commit)


async def _setup(api: Api, rooms: int) -> tuple[list[int], int]:
    alice = await api.user("alice")
    made = [await api.room(alice, f"r{i}") for i in range(rooms)]
    return [r["id"] for r in made], made[0]["owner_id"]


async def test_concurrent_sends_are_batched_gapless_and_each_answered(api: Api, resources: Resources) -> None:
    room_ids, uid = await _setup(api, 3)
    with counting_commits(resources) as commits:
        results = await asyncio.gather(
            *(resources.writer.store(room_ids[n % 3], uid, f"body {n}", f"id-{n}") for n in range(150))
        )
    assert commits[0] < 50  # 150 messages, far fewer transactions
    for n, result in enumerate(results):
        assert result.created and result.message.body == f"body {n}" and result.message.username == "alice"
    for room_id in room_ids:
        seqs = sorted(r.message.seq for r in results if r.message.room_id == room_id)
        assert seqs == list(range(1, 51))


async def test_repeats_in_and_across_batches_store_once(api: Api, resources: Resources) -> None:
    (room_id,), uid = await _setup(api, 1)
    first = await resources.writer.store(room_id, uid, "original", "same")
    results = await asyncio.gather(
        *(resources.writer.store(room_id, uid, f"again {n}", "same") for n in range(5)),
        *(resources.writer.store(room_id, uid, "twice in one batch", "new") for _ in range(3)),
    )
    assert all(not r.created and r.message.id == first.message.id for r in results[:5])
    new = results[5:]
    assert sum(r.created for r in new) == 1 and len({r.message.id for r in new}) == 1
    page = (await api.client.get(f"/rooms/{room_id}/messages", headers=await api.user("bob"))).json()
    assert [m["body"] for m in page["items"]] == ["original", "twice in one batch"]


async def test_a_deleted_room_fails_only_its_own_messages(api: Api, resources: Resources) -> None:
    (room_id,), uid = await _setup(api, 1)
    results = await asyncio.gather(
        resources.writer.store(room_id, uid, "kept"),
        resources.writer.store(987654, uid, "lost"),
        return_exceptions=True,
    )
    assert results[0].created and results[0].message.seq == 1  # type: ignore[union-attr]
    assert isinstance(results[1], RoomGone)


async def test_batch_of_one_commits_each_message(api: Api, resources: Resources) -> None:
    room_ids, uid = await _setup(api, 1)
    writer = MessageWriter(resources.engine, max_batch=1)
    writer.start()
    try:
        with counting_commits(resources) as commits:
            await asyncio.gather(*(writer.store(room_ids[0], uid, f"{n}") for n in range(10)))
    finally:
        await writer.stop()
    assert commits[0] == 10
