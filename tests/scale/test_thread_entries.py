"""Guarantees 7 and 10 scaled out: two `chat-service serve` processes on PostgreSQL + Redis.
A reply and a reaction stored through one instance reach sockets on the other in seq order,
interleaved with messages sent through that other one, and replay there as /events pages them."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect

from tests.conftest import ServiceProcess
from tests.realtime.conftest import Client
from tests.scale.conftest import Session, login, make_room, send_all
from tests.scale.test_stream_events import call, open_mux, stream_of
from tests.streams import mux_entry, mux_replayed, next_entry, replayed, without_room

pytestmark = pytest.mark.slow

THUMBS = "%F0%9F%91%8D"  # 👍, percent-encoded


async def _thread_and_reactions(base: str, alice: Session, room: int) -> None:
    """Through one instance, each after the answer to the one before: replies and reactions."""
    for seq in (1, 2, 3):
        r = await call("POST", base, f"/rooms/{room}/messages", alice, json={"body": f"re {seq}", "thread_seq": 1})
        assert r.status_code == 201, r.text
        r = await call("PUT", base, f"/rooms/{room}/messages/{seq}/reactions/{THUMBS}", alice)
        assert r.status_code == 204, r.text


async def test_a_reply_and_a_reaction_through_one_instance_reach_the_other_in_seq_order(
    two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = two
    alice, bob = await login(a.base, "alice"), await login(b.base, "bob")
    room = await make_room(alice, "threads")
    await send_all(alice, room, "first", 3)
    per_room = Client(await connect(bob.ws_url(room, since=3, base=b.base)))
    await replayed(per_room)
    mux = await open_mux(bob, b.base)
    await mux.subscribe([(room, 3)])
    await mux_replayed(mux, room)

    await asyncio.gather(
        _thread_and_reactions(a.base, alice, room), send_all(Session(b.base, alice.token, alice.username), room, "m", 6)
    )
    live = [await next_entry(per_room) for _ in range(12)]
    assert [f["seq"] for f in live] == list(range(4, 16))
    assert without_room([await mux_entry(mux, room) for _ in range(12)]) == live
    replies = [f for f in live if f["type"] == "message" and f["thread_seq"] == 1]
    assert [f["root"]["reply_count"] for f in replies] == [1, 2, 3]
    reactions = [f for f in live if f["type"] == "reaction"]
    assert [(f["target_seq"], f["emoji"], f["count"]) for f in reactions] == [(1, "👍", 1), (2, "👍", 1), (3, "👍", 1)]
    stream = await stream_of(b.base, bob, room)
    assert stream[3:] == live  # nothing changed those entries since
    again = Client(await connect(bob.ws_url(room, since=0, base=b.base)))
    assert (await replayed(again))[1] == stream == await stream_of(a.base, alice, room)
    root = stream[0]
    assert (root["reply_count"], root["updated_seq"], root["reactions"][0]["count"]) == (3, replies[-1]["seq"], 1)
    for closing in (per_room, mux, again):
        await closing.close()
