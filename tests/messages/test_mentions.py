"""who a body mentions, members only, resolved when stored and again when
edited; the rows mention counts read; followers of a thread by reply and by mention."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.main import State
from service.messages.edits import Delete, Edit
from service.messages.entries import InvalidThread, StoredEdit, StoreResult
from service.messages.mentions import MAX_MENTIONS, Named, named, resolve
from service.messages.store import Pending
from service.messages.stream_reads import message_at
from service.tables import mentions, room_members, thread_markers
from tests.conftest import Api
from tests.storing import store_batch

MEMBERS = {"bob": 2, "bob.smith": 3, "ann-": 4, "alice": 1}


@pytest.mark.parametrize(
    ("body", "ids", "room"),
    [
        ("@bob hi", (2,), False),
        ("hi @Bob. and (@ALICE)", (2,), False),  # the author is never mentioned
        ("@bob.smith, @bob.smith and @bob", (3, 2), False),
        ("@bob- @ann-", (2, 4), False),  # trimmed only when the run is nobody's
        ("mail bob@bob.com or x@bob", (), False),
        ("@@bob @carol", (2,), False),  # carol is no member
        ("@room: lunch, @ROOM.", (), True),
        ("@rooms @bobby", (), False),
    ],
)
def test_names_are_members_at_a_start_or_after_a_non_name_character(
    body: str, ids: tuple[int, ...], room: bool
) -> None:
    said = named(body)
    assert (resolve(said, MEMBERS, author=1), said.room) == (ids, room)


def test_a_message_mentions_at_most_fifty_users_the_first_named() -> None:
    members = {f"user{i}": i + 10 for i in range(60)}
    said = named(" ".join(f"@user{i}" for i in range(60)))
    assert resolve(said, members, author=1) == tuple(range(10, 10 + MAX_MENTIONS))
    assert named("no at sign") == Named()


async def _rows(state: State, table: object, *columns: str) -> list[tuple[object, ...]]:
    async with state.engine.connect() as conn:
        cols = [table.c[name] for name in columns]  # type: ignore[attr-defined]
        return [tuple(r) for r in await conn.execute(select(*cols).order_by(*cols))]


async def test_mentions_are_resolved_when_stored_and_when_edited_and_gone_when_deleted(api: Api, state: State) -> None:
    users = {}
    for name in ("alice", "bob", "carol"):
        headers = await api.user(name)
        users[name] = ((await api.client.get("/users/me", headers=headers)).json()["id"], headers)
    alice, bob, carol = (users[n][0] for n in ("alice", "bob", "carol"))
    room = (await api.room(users["alice"][1], "general"))["id"]
    assert (await api.client.post(f"/rooms/{room}/join", headers=users["bob"][1])).status_code == 204

    (stored,) = await store_batch(state.engine, [Pending(room, alice, "alice", "@bob @carol @alice @room", None)])
    assert isinstance(stored, StoreResult)
    assert (stored.message.mentions, stored.message.mentions_room) == ((bob,), True)
    assert await _rows(state, mentions, "user_id", "seq", "also_room") == [(bob, 1, True)]

    assert (await api.client.post(f"/rooms/{room}/join", headers=users["carol"][1])).status_code == 204
    change = Edit(room_id=room, target_seq=1, user_id=alice, username="alice", body="@carol now, and @BOB.")
    edited = await state.writer.apply(change)
    assert isinstance(edited, StoredEdit) and (edited.mentions, edited.mentions_room) == ((carol, bob), False)
    assert await _rows(state, mentions, "user_id", "also_room") == [(bob, False), (carol, False)]
    async with state.reads() as session:
        message = await message_at(session, room, 1)
    assert message is not None and (message.mentions, message.mentions_room, message.updated_seq) == (
        (carol, bob),
        False,
        2,
    )

    await state.writer.apply(Delete(room_id=room, target_seq=1, user_id=alice, username="alice", is_admin=False))
    assert await _rows(state, mentions, "user_id") == []
    async with state.reads() as session:
        message = await message_at(session, room, 1)
    assert message is not None and (message.mentions, message.mentions_room) == ((), False)


async def test_replies_make_followers_and_move_only_their_threads_marker(api: Api, state: State) -> None:
    ids = {}
    for name in ("alice", "bob", "carol", "dave"):
        headers = await api.user(name)
        ids[name] = (await api.client.get("/users/me", headers=headers)).json()["id"]
        if name == "alice":
            room = (await api.room(headers, "general"))["id"]
        else:
            assert (await api.client.post(f"/rooms/{room}/join", headers=headers)).status_code == 204
    alice, bob, carol, dave = ids.values()
    await store_batch(state.engine, [Pending(room, alice, "alice", "root", None)])  # 1
    results = await store_batch(
        state.engine,
        [
            Pending(room, bob, "bob", "top-level", "t"),  # 2
            Pending(room, bob, "bob", "a reply", "r", thread_seq=1),  # 3
            Pending(room, carol, "carol", "to a seq of this batch", "x", thread_seq=2),  # refused
            Pending(room, carol, "carol", "@dave look", "c", thread_seq=1),  # 4
            Pending(room, bob, "bob", "a reply", "r", thread_seq=1),  # a repeat of 3
        ],
    )
    assert isinstance(results[2], InvalidThread)
    stored = [r.message for r in results if isinstance(r, StoreResult)]
    assert [(m.seq, m.thread_seq) for m in stored] == [(2, None), (3, 1), (4, 1), (3, 1)]
    assert [m.root.reply_count if m.root else None for m in stored] == [None, 1, 2, 1]
    assert stored[2].mentions == (dave,)
    # Writers follow at their reply; the root's author and those named, just below the reply that made them follow.
    assert await _rows(state, thread_markers, "user_id", "root_seq", "last_read_seq") == [
        (alice, 1, 2),
        (bob, 1, 3),
        (carol, 1, 4),
        (dave, 1, 3),
    ]
    # The room's marker moves to the sender's last top-level message only.
    async with state.engine.connect() as conn:
        marker = await conn.scalar(
            select(room_members.c.last_read_seq).where(room_members.c.room_id == room, room_members.c.user_id == bob)
        )
    assert marker == 2
    assert await _rows(state, mentions, "user_id", "seq", "thread_seq") == [(dave, 4, 1)]
