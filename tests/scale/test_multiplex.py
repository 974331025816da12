"""SPEC 3.3 scaled out: `/ws` on one instance, the other instance writing and changing rooms."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import ServiceProcess
from tests.realtime.mux import Mux, mux_url
from tests.scale.conftest import TIMEOUT, Session, login, make_room, send_all, unique

pytestmark = pytest.mark.slow


async def open_mux(session: Session, base: str) -> Mux:
    mux = await Mux.open(mux_url(base, session.token))
    await mux.hello()
    return mux


def bearer(session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {session.token}"}


def has(frame: dict[str, Any], **fields: Any) -> bool:
    return all(frame.get(k) == v for k, v in fields.items())


async def test_mux_on_one_instance_receives_in_order_what_the_other_stores(
    shared_two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = shared_two
    alice, bob = await login(a.base, "alice"), await login(b.base, "bob")
    rooms = [await make_room(alice, name) for name in ("north", "south")]
    mux = await open_mux(alice, a.base)
    answers = await mux.subscribed([(r, 0) for r in rooms])
    assert all(answer.replay == [] for answer in answers.values())
    per_sender, senders = 20, 3
    total = per_sender * senders
    await asyncio.gather(*(send_all(bob, room, f"{room}-s{n}", per_sender) for room in rooms for n in range(senders)))
    for room in rooms:
        seen = await mux.messages_of(room, total, timeout=TIMEOUT)
        assert [m["seq"] for m in seen] == list(range(1, total + 1)), room
        assert all(m["room"] == m["room_id"] == room for m in seen)
        assert {m["body"] for m in seen} == {f"{room}-s{n}-{i}" for n in range(senders) for i in range(per_sender)}
    await mux.pong()
    for room in rooms:
        assert mux.stream(room) == list(range(1, total + 1))
    await mux.close()


async def test_room_added_removal_and_deletion_reach_mux_sockets_on_the_other_instance(
    shared_two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = shared_two
    alice, bob = await login(b.base, "alice"), await login(b.base, "bob")
    alice_mux, bob_mux = await open_mux(alice, a.base), await open_mux(bob, a.base)
    async with httpx.AsyncClient(base_url=f"{b.base}/api/v1", timeout=TIMEOUT) as http:
        bob_id = (await http.get("/users/me", headers=bearer(bob))).json()["id"]
        name = unique("team")
        r = await http.post("/rooms", json={"name": name, "private": True}, headers=bearer(alice))
        assert r.status_code == 201, r.text
        team = r.json()
        assert has(await alice_mux.next_type("room_added"), room=team)  # the creator, on the other instance
        r = await http.post(f"/rooms/{team['id']}/members", json={"username": bob.username}, headers=bearer(alice))
        assert r.status_code == 201, r.text
        added = await bob_mux.next_type("room_added")
        assert added["room"]["id"] == team["id"] and added["room"]["name"] == name, added
        lobby = await make_room(alice, "lobby")
        await bob_mux.subscribed([team["id"], lobby])
        await alice_mux.subscribed([lobby])

        r = await http.delete(f"/rooms/{team['id']}/members/{bob_id}", headers=bearer(alice))
        assert r.status_code == 204
        frame = await bob_mux.next_type("unsubscribed", team["id"])
        assert has(frame, room=team["id"], reason="removed from room"), frame
        # The socket and its other room go on.
        await send_all(alice, lobby, "after-removal", 3)
        assert [m["seq"] for m in await bob_mux.messages_of(lobby, 3)] == [1, 2, 3]
        await bob_mux.subscribe([team["id"]])
        await bob_mux.error("room_not_found", team["id"])

        r = await http.delete(f"/rooms/{lobby}", headers=bearer(alice))
        assert r.status_code == 204
        for mux in (alice_mux, bob_mux):
            frame = await mux.next_type("unsubscribed", lobby)
            assert has(frame, room=lobby, reason="room deleted"), frame
            await mux.pong()
            assert mux.ws.close_code is None
    await alice_mux.close()
    await bob_mux.close()
