"""Pages a replica may answer are answered by it, and never show less than the primary had
when the request's access check ran (docs/architecture.md, "Read replicas")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.main import State
from tests.conftest import Api
from tests.replicas.conftest import caught_up
from tests.replicas.helpers import fallbacks, from_replica, get, on_primary, replica_reads, send
from tests.replicas.standby import Standby

pytestmark = pytest.mark.slow


@pytest.fixture
async def paused(standby: Standby) -> AsyncIterator[Standby]:
    """The replica with its replay paused for the test: the primary's commits stay off it."""
    await standby.pause_replay()
    try:
        yield standby
    finally:
        await standby.resume_replay()


async def _room(api: Api) -> tuple[dict, dict[str, str]]:
    alice = await api.user("alice")
    return await api.room(alice, "general"), alice


async def test_history_page_is_read_from_the_replica(
    replica_api: Api, replica_state: State, postgres_url: str, standby: Standby
) -> None:
    room, alice = await _room(replica_api)
    await send(replica_api, alice, room["id"], "as sent")
    await caught_up(replica_state)
    await standby.pause_replay()
    try:
        # Changed on the primary alone, and without a seq: only the primary shows it.
        await on_primary(postgres_url, "UPDATE messages SET body = 'primary only' WHERE room_id = $1", room["id"])
        before = replica_reads(replica_state)
        page = await get(replica_api, alice, f"/rooms/{room['id']}/messages")
        assert [m["body"] for m in page["items"]] == ["as sent"]
        assert replica_reads(replica_state) == before + 1
        events = await get(replica_api, alice, f"/rooms/{room['id']}/events", after_seq=0)
        assert [e["body"] for e in events["items"]] == ["primary only"]
    finally:
        await standby.resume_replay()


async def test_thread_page_is_read_from_the_replica(
    replica_api: Api, replica_state: State, postgres_url: str, standby: Standby
) -> None:
    room, alice = await _room(replica_api)
    root = await send(replica_api, alice, room["id"], "root")
    await send(replica_api, alice, room["id"], "reply", thread_seq=root["seq"])
    await caught_up(replica_state)
    await standby.pause_replay()
    try:
        await on_primary(postgres_url, "UPDATE messages SET body = 'primary only' WHERE room_id = $1", room["id"])
        page = await get(replica_api, alice, f"/rooms/{room['id']}/threads/{root['seq']}")
        assert page["root"]["body"] == "root" and [m["body"] for m in page["items"]] == ["reply"]
    finally:
        await standby.resume_replay()


async def test_a_message_sent_while_the_replica_lags_is_in_the_next_page(
    replica_api: Api, replica_state: State, paused: Standby
) -> None:
    room, alice = await _room(replica_api)
    behind = fallbacks(replica_state, "behind")
    await send(replica_api, alice, room["id"], "fresh")
    page = await get(replica_api, alice, f"/rooms/{room['id']}/messages")
    assert [m["body"] for m in page["items"]] == ["fresh"]
    replies = await get(replica_api, alice, f"/rooms/{room['id']}/threads/{page['items'][0]['seq']}")
    assert replies["root"]["body"] == "fresh"
    assert fallbacks(replica_state, "behind") == behind + 2


async def test_listings_are_read_from_the_replica_once_it_has_the_primary_position(
    replica_api: Api, replica_state: State
) -> None:
    room, alice = await _room(replica_api)
    bob = await replica_api.user("bob")
    await replica_api.client.post(f"/rooms/{room['id']}/join", headers=bob)
    root = await send(replica_api, alice, room["id"], "hello @bob")
    await send(replica_api, bob, room["id"], "hi", thread_seq=root["seq"])
    await caught_up(replica_state)

    async def search() -> dict:
        return await get(replica_api, bob, "/search", q="hello")

    async def mentions() -> dict:
        return await get(replica_api, bob, "/users/me/mentions")

    async def threads() -> dict:
        return await get(replica_api, bob, "/users/me/threads")

    async def rooms() -> dict:
        return await get(replica_api, bob, "/users/me/rooms")

    async def pins() -> dict:
        return await get(replica_api, bob, f"/rooms/{room['id']}/pins")

    async def users() -> dict:
        return await get(replica_api, bob, "/users", prefix="ali")

    assert [m["body"] for m in (await from_replica(replica_state, search))["items"]] == ["hello @bob"]
    assert [m["body"] for m in (await from_replica(replica_state, mentions))["items"]] == ["hello @bob"]
    assert [t["root"]["body"] for t in (await from_replica(replica_state, threads))["items"]] == ["hello @bob"]
    assert [u["username"] for u in (await from_replica(replica_state, users))["items"]] == ["alice"]
    assert [r["room"]["id"] for r in (await from_replica(replica_state, rooms))["items"]] == [room["id"]]
    assert (await from_replica(replica_state, pins))["items"] == []


async def test_listings_show_what_was_written_while_the_replica_lags(
    replica_api: Api, replica_state: State, paused: Standby
) -> None:
    room, alice = await _room(replica_api)
    await send(replica_api, alice, room["id"], "written while the replica lags")
    before = replica_reads(replica_state)
    found = await get(replica_api, alice, "/search", q="lags")
    assert [m["body"] for m in found["items"]] == ["written while the replica lags"]
    assert [u["username"] for u in (await get(replica_api, alice, "/users", prefix="ali"))["items"]] == ["alice"]
    assert replica_reads(replica_state) == before


async def test_a_removed_member_loses_the_room_at_once_though_the_replica_lags(
    replica_api: Api, replica_state: State, standby: Standby
) -> None:
    alice = await replica_api.user("alice")
    room = await replica_api.room(alice, "plans", private=True)
    bob = await replica_api.user("bob")
    r = await replica_api.client.post(f"/rooms/{room['id']}/members", json={"username": "bob"}, headers=alice)
    assert r.status_code == 201, r.text
    root = await send(replica_api, alice, room["id"], "secret plans")
    await send(replica_api, bob, room["id"], "noted", thread_seq=root["seq"])
    await caught_up(replica_state)
    assert (await get(replica_api, bob, "/search", q="secret"))["items"]
    await standby.pause_replay()
    try:
        r = await replica_api.client.delete(f"/rooms/{room['id']}/members/{r.json()['id']}", headers=alice)
        assert r.status_code == 204, r.text
        for path in (f"/rooms/{room['id']}/messages", f"/rooms/{room['id']}/threads/{root['seq']}"):
            r = await replica_api.client.get(path, headers=bob)
            assert r.status_code == 404, r.text
        assert (await get(replica_api, bob, "/search", q="secret"))["items"] == []
        assert (await get(replica_api, bob, "/users/me/threads"))["items"] == []
    finally:
        await standby.resume_replay()
