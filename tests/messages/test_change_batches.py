"""Changes queued together are stored in one transaction, each an entry of its own
with a gapless seq, each refused or empty one leaving nothing behind; a reaction
summary's first 100 users stay those the reactions table holds first."""

from __future__ import annotations

import asyncio

import orjson
from sqlalchemy import insert, select

from service.db import utcnow
from service.errors import NotFound
from service.main import State
from service.messages.entries import StoredReaction
from service.messages.reactions import MAX_USER_IDS, React
from service.tables import messages, reactions, rooms, users
from tests.conftest import Api

THUMBS = "👍"


async def _many_users(state: State, n: int) -> list[int]:
    rows = [
        {"username": f"u{i}", "username_key": f"u{i}", "password_hash": "x", "is_admin": False, "created_at": utcnow()}
        for i in range(n)
    ]
    async with state.engine.begin() as conn:
        await conn.execute(insert(users), rows)
        return list(await conn.scalars(select(users.c.id).where(users.c.username.like("u%")).order_by(users.c.id)))


def _react(room_id: int, user_id: int, *, add: bool = True, seq: int = 1) -> React:
    return React(room_id=room_id, target_seq=seq, user_id=user_id, username="u", emoji=THUMBS, add=add)


async def _summary(state: State, room_id: int) -> tuple[dict[str, object], list[int]]:
    """The message's summary of THUMBS and the first users the reactions table holds."""
    async with state.engine.connect() as conn:
        message = (
            await conn.execute(
                select(messages.c.id, messages.c.reactions).where(messages.c.room_id == room_id, messages.c.seq == 1)
            )
        ).one()
        first = await conn.scalars(
            select(reactions.c.user_id).where(reactions.c.message_id == message.id).order_by(reactions.c.seq).limit(100)
        )
        (summary,) = orjson.loads(message.reactions)
        return summary, list(first)


async def test_a_batch_of_changes_keeps_seqs_gapless_and_refusals_store_nothing(api: Api, state: State) -> None:
    alice = await api.user("alice")
    room = await api.room(alice, "general")
    room_id, owner = room["id"], room["owner_id"]
    await state.writer.submit(room_id=room_id, user_id=owner, username="alice", body="react to me")  # 1
    uid = (await _many_users(state, 1))[0]
    outcomes = await asyncio.gather(
        state.writer.apply(_react(room_id, owner)),  # 2
        state.writer.apply(_react(room_id, owner)),  # had it: nothing
        state.writer.apply(_react(room_id, uid, seq=99)),  # no such message
        state.writer.apply(_react(room_id, uid)),  # 3
        state.writer.apply(_react(room_id, owner, add=False)),  # 4
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], StoredReaction) and outcomes[0].seq == 2 and outcomes[0].count == 1
    assert outcomes[1] is None
    assert isinstance(outcomes[2], NotFound)
    assert isinstance(outcomes[3], StoredReaction) and (outcomes[3].seq, outcomes[3].count) == (3, 2)
    assert isinstance(outcomes[4], StoredReaction) and (outcomes[4].seq, outcomes[4].count) == (4, 1)
    async with state.engine.connect() as conn:
        assert await conn.scalar(select(rooms.c.last_seq).where(rooms.c.id == room_id)) == 4
        seqs = await conn.scalars(select(messages.c.seq).where(messages.c.room_id == room_id).order_by(messages.c.seq))
        assert list(seqs) == [1, 2, 3, 4]
    summary, first = await _summary(state, room_id)
    assert summary == {"emoji": THUMBS, "count": 1, "user_ids": [uid]} and first == [uid]


async def test_the_summary_lists_the_first_hundred_users_through_adds_and_removes(api: Api, state: State) -> None:
    alice = await api.user("alice")
    room = await api.room(alice, "general")
    room_id, owner = room["id"], room["owner_id"]
    await state.writer.submit(room_id=room_id, user_id=owner, username="alice", body="popular")
    ids = await _many_users(state, MAX_USER_IDS + 3)
    await asyncio.gather(*(state.writer.apply(_react(room_id, u)) for u in ids))
    summary, first = await _summary(state, room_id)
    assert summary == {"emoji": THUMBS, "count": len(ids), "user_ids": ids[:MAX_USER_IDS]} and first == ids[:100]
    steps = [
        (ids[5], False),  # one of the first hundred leaves: the next one comes in
        (ids[-1], False),  # one past them leaves: the list stays
        (ids[5], True),  # back, and last
        (ids[0], False),
        (ids[1], False),
        (ids[2], False),  # now exactly a hundred: no one waits beyond the list
        (ids[3], False),
        (ids[0], True),  # room again: listed last
    ]
    for user_id, add in steps:
        await state.writer.apply(_react(room_id, user_id, add=add))
        summary, first = await _summary(state, room_id)
        assert summary["user_ids"] == first, (user_id, add)
    assert summary["count"] == len(ids) - 4
