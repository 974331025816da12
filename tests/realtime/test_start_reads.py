"""A new feed's read in a worker thread (a SQLite file) gives what the async
engine's Core read gives: the rooms' rows, typed alike, their newest entries and
the openers' membership."""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any

import pytest

from service.realtime import start_reads
from service.realtime.start_reads import Start
from tests.realtime.conftest import LiveServer, auth


def _view(starts: dict[int, Start]) -> dict[int, Any]:
    return {
        room_id: (
            None if s.room is None else tuple(getattr(s.room, c) for c in start_reads._COLUMNS),
            s.newest,
            s.members,
        )
        for room_id, s in starts.items()
    }


async def test_the_thread_read_equals_the_async_read(server: LiveServer) -> None:
    thread_engine = server.state.hub.feeds.starts.thread_engine
    if thread_engine is None:
        pytest.skip("a SQLite file's worker-thread read")
    bob, bob_token = await server.user("bob")
    alice, owner = await server.user("alice")
    public = await server.room(owner, "general", description="the lobby")
    private = await server.room(owner, "team", private=True)
    r = await server.http.post(f"/rooms/{private['id']}/members", json={"username": "bob"}, headers=auth(owner))
    assert r.status_code == 201, r.text
    client = await server.connect(public["id"], owner)
    await client.handshake()
    for body in ("one", "two", "three"):
        await client.message(body)
    await client.messages(3)
    empty = await server.room(owner, "empty")
    ids = [public["id"], private["id"], empty["id"], 999_999]
    openers = {private["id"]: {bob["id"], alice["id"] + 1000}}
    in_thread = await asyncio.to_thread(start_reads.read_in_thread, thread_engine, ids, openers, 2)
    on_loop = await start_reads.read(server.state.read_engine, ids, openers, 2)
    assert _view(in_thread) == _view(on_loop)
    room = in_thread[public["id"]].room
    assert room is not None and room.description == "the lobby" and room.last_seq == 3
    assert room.created_at.tzinfo == UTC and room.private is False
    assert in_thread[private["id"]].room.private is True  # type: ignore[union-attr]
    assert [e.seq for e in in_thread[public["id"]].newest] == [2, 3]
    assert in_thread[private["id"]].members == {bob["id"]} and in_thread[999_999].room is None
