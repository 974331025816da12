from __future__ import annotations

import asyncio

import pytest

from service.main import State
from service.messages.entries import RoomGone
from tests.conftest import Api
from tests.storing import store_message


async def _room_with_messages(api: Api, state: State, count: int) -> tuple[dict, dict[str, str]]:
    alice = await api.user("alice")
    room = await api.room(alice, "general")
    for i in range(1, count + 1):
        await store_message(state.engine, room["id"], room["owner_id"], f"m{i}")
    return room, alice


async def _page(api: Api, room_id: int, headers: dict[str, str], **params: int) -> dict:
    r = await api.client.get(f"/rooms/{room_id}/messages", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _seqs(page: dict) -> list[int]:
    return [m["seq"] for m in page["items"]]


async def test_message_shape(api: Api, state: State) -> None:
    room, alice = await _room_with_messages(api, state, 1)
    (message,) = (await _page(api, room["id"], alice))["items"]
    assert set(message) == {
        "id",
        "room_id",
        "seq",
        "user",
        "body",
        "client_msg_id",
        "created_at",
        "edited_at",
        "deleted",
        "updated_seq",
        "thread_seq",
        "reply_count",
        "last_reply_at",
        "reactions",
        "pinned",
        "mentions",
        "mentions_room",
        "files",
    }
    assert message["edited_at"] is None and message["deleted"] is False
    assert message["user"] == {"id": room["owner_id"], "username": "alice"}
    assert message["body"] == "m1" and message["seq"] == 1 and message["client_msg_id"] is None
    assert message["created_at"].endswith("Z")


async def test_without_cursor_returns_newest_ascending(api: Api, state: State) -> None:
    room, alice = await _room_with_messages(api, state, 7)
    page = await _page(api, room["id"], alice, limit=3)
    assert _seqs(page) == [5, 6, 7] and page["has_more"] is True
    page = await _page(api, room["id"], alice)
    assert _seqs(page) == list(range(1, 8)) and page["has_more"] is False


async def test_after_seq_pages_forward(api: Api, state: State) -> None:
    room, alice = await _room_with_messages(api, state, 7)
    page = await _page(api, room["id"], alice, after_seq=0, limit=3)
    assert _seqs(page) == [1, 2, 3] and page["has_more"] is True
    page = await _page(api, room["id"], alice, after_seq=3, limit=4)
    assert _seqs(page) == [4, 5, 6, 7] and page["has_more"] is False
    page = await _page(api, room["id"], alice, after_seq=7)
    assert _seqs(page) == [] and page["has_more"] is False


async def test_before_seq_pages_backward(api: Api, state: State) -> None:
    room, alice = await _room_with_messages(api, state, 7)
    page = await _page(api, room["id"], alice, before_seq=6, limit=2)
    assert _seqs(page) == [4, 5] and page["has_more"] is True
    page = await _page(api, room["id"], alice, before_seq=3, limit=5)
    assert _seqs(page) == [1, 2] and page["has_more"] is False


async def test_both_cursors_bound_a_window(api: Api, state: State) -> None:
    room, alice = await _room_with_messages(api, state, 9)
    page = await _page(api, room["id"], alice, after_seq=2, before_seq=8, limit=3)
    assert _seqs(page) == [3, 4, 5] and page["has_more"] is True
    page = await _page(api, room["id"], alice, after_seq=5, before_seq=8, limit=3)
    assert _seqs(page) == [6, 7] and page["has_more"] is False


async def test_last_seq_matches_history(api: Api, state: State) -> None:
    room, alice = await _room_with_messages(api, state, 4)
    fetched = (await api.client.get(f"/rooms/{room['id']}", headers=alice)).json()
    assert fetched["last_seq"] == 4 == _seqs(await _page(api, room["id"], alice))[-1]


async def test_repeated_client_msg_id_stores_nothing_and_returns_original(api: Api, state: State) -> None:
    room, alice = await _room_with_messages(api, state, 0)
    rid, uid = room["id"], room["owner_id"]
    first = await store_message(state.engine, rid, uid, "hello", "c-1")
    again = await store_message(state.engine, rid, uid, "different body", "c-1")
    assert first.created and not again.created
    assert again.message.id == first.message.id and again.message.body == "hello"
    page = await _page(api, rid, alice)
    assert _seqs(page) == [1] and page["items"][0]["client_msg_id"] == "c-1"
    # The same client_msg_id from another user is a different message.
    bob = await api.register("bob")
    other = await store_message(state.engine, rid, bob["id"], "bob's", "c-1")
    assert other.created and other.message.seq == 2


async def test_concurrent_stores_get_gapless_seqs(api: Api, state: State) -> None:
    alice = await api.user("alice")
    rooms = [await api.room(alice, f"r{i}") for i in range(4)]
    uid = rooms[0]["owner_id"]
    results = await asyncio.gather(
        *(store_message(state.engine, room["id"], uid, f"{n}", f"id-{n % 25}") for room in rooms for n in range(50))
    )
    for room in rooms:
        seqs = sorted(r.message.seq for r in results if r.message.room_id == room["id"] and r.created)
        assert seqs == list(range(1, 26))
        page = await _page(api, room["id"], alice, after_seq=0, limit=200)
        assert _seqs(page) == list(range(1, 26))


async def test_storing_into_a_missing_room_raises(state: State, api: Api) -> None:
    user = await api.register("alice")
    with pytest.raises(RoomGone):
        await store_message(state.engine, 424242, user["id"], "x")
