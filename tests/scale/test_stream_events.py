"""Guarantee 8 and SPEC 3.3/3.4 scaled out: two `chat-service serve` processes on PostgreSQL + Redis.
Read markers set on one instance reach the user's /ws sockets on the other; edits and deletes
made through one instance reach sockets on the other in seq order."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.conftest import ServiceProcess
from tests.realtime.conftest import Client
from tests.realtime.mux import Mux, mux_url
from tests.scale.conftest import TIMEOUT, Session, login, make_room, send_all
from tests.streams import STREAM, Frame, mux_entry, mux_replayed, next_entry, replayed

pytestmark = pytest.mark.slow


def bearer(session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {session.token}"}


async def open_mux(session: Session, base: str) -> Mux:
    mux = await Mux.open(mux_url(base, session.token))
    await mux.hello()
    return mux


async def call(method: str, base: str, path: str, session: Session, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=TIMEOUT) as http:
        return await http.request(method, path, headers=bearer(session), **kwargs)


async def stream_of(base: str, session: Session, room: int) -> list[Frame]:
    r = await call("GET", base, f"/rooms/{room}/events", session, params={"after_seq": 0, "limit": 500})
    assert r.status_code == 200 and r.json()["has_more"] is False, r.text
    items: list[Frame] = r.json()["items"]
    return items


async def test_a_marker_moved_on_one_instance_reaches_the_users_ws_sockets_on_the_other(
    shared_two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = shared_two
    alice, bob = await login(a.base, "alice"), await login(a.base, "bob")
    room = await make_room(alice, "markers")
    assert (await call("POST", a.base, f"/rooms/{room}/join", bob)).status_code == 204
    await send_all(alice, room, "m", 4)
    on_a, on_b = await open_mux(bob, a.base), await open_mux(bob, b.base)
    await on_a.subscribe([(room, 0)])
    await mux_replayed(on_a, room)

    # REST on A: the sockets on both instances are told.
    assert (await call("POST", a.base, f"/rooms/{room}/read", bob, json={"seq": 2})).status_code == 204
    for mux in (on_b, on_a):
        assert await mux.next_type("read") == {"type": "read", "room": room, "seq": 2}
    # A read frame on A: the socket on B is told, the one that sent it is not.
    await on_a.send({"type": "read", "room": room, "seq": 3})
    assert await on_b.next_type("read") == {"type": "read", "room": room, "seq": 3}
    # A per-room socket's read frame on A.
    per_room = Client(await connect(bob.ws_url(room, base=a.base)))
    await replayed(per_room)
    await per_room.send({"type": "read", "seq": 4})
    for mux in (on_b, on_a):
        assert await mux.next_type("read") == {"type": "read", "room": room, "seq": 4}
    # Control events reach an instance in order: had A's socket been told of its own read,
    # seq 3 would have come before seq 4.
    assert [f["seq"] for f in on_a.log if f["type"] == "read"] == [2, 4]
    r = await call("GET", b.base, "/users/me/rooms", bob)
    assert [(i["room"]["id"], i["last_read_seq"], i["unread"]) for i in r.json()["items"]] == [(room, 4, 0)]
    for closing in (on_a, on_b, per_room):
        await closing.close()


async def _changes(base: str, alice: Session, room: int) -> None:
    """Edits and deletes through one instance, each after the answer to the one before."""
    for seq in range(1, 7):
        r = await call("PATCH", base, f"/rooms/{room}/messages/{seq}", alice, json={"body": f"edited {seq}"})
        assert r.status_code == 200, r.text
        if seq % 2 == 0:
            r = await call("DELETE", base, f"/rooms/{room}/messages/{seq}", alice)
            assert r.status_code == 204, r.text


async def test_edits_and_deletes_through_one_instance_reach_the_other_in_seq_order(
    shared_two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = shared_two
    alice, bob = await login(a.base, "alice"), await login(b.base, "bob")
    room = await make_room(alice, "changes")
    await send_all(alice, room, "first", 6)
    per_room = Client(await connect(bob.ws_url(room, since=6, base=b.base)))
    await replayed(per_room)
    mux = await open_mux(bob, b.base)
    await mux.subscribe([(room, 6)])
    await mux_replayed(mux, room)

    # Messages through B while A takes the edits and deletes.
    await asyncio.gather(
        _changes(a.base, alice, room), send_all(Session(b.base, alice.token, alice.username), room, "m", 10)
    )
    last = 6 + 6 + 3 + 10
    live = [await next_entry(per_room) for _ in range(last - 6)]
    mux_live = [await mux_entry(mux, room) for _ in range(last - 6)]
    assert [f["seq"] for f in live] == list(range(7, last + 1))
    assert [{k: v for k, v in f.items() if k != "room"} for f in mux_live] == live
    stream = await stream_of(b.base, bob, room)
    assert [(f["type"], f["seq"], f.get("target_seq")) for f in stream[6:]] == [
        (f["type"], f["seq"], f.get("target_seq")) for f in live
    ]
    assert [f["target_seq"] for f in live if f["type"] == "delete"] == [2, 4, 6]
    assert [f["body"] for f in live if f["type"] == "edit"] == [f"edited {seq}" for seq in range(1, 7)]
    # A reader resuming on B from the start sees the current state, same as /events on A.
    again = Client(await connect(bob.ws_url(room, since=0, base=b.base)))
    _, replay, synced = await replayed(again)
    assert replay == stream == await stream_of(a.base, alice, room)
    assert synced["last_seq"] == last and all(f["type"] in STREAM for f in replay)
    for closing in (per_room, mux, again):
        await closing.close()
