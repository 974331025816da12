"""POST /dms: one conversation per pair of users, its two members fixed (docs/protocol.md)."""

from __future__ import annotations

import asyncio

from tests.conftest import Api


async def _users(api: Api, *names: str) -> list[dict[str, str]]:
    return [await api.user(name) for name in names]


async def test_the_same_conversation_whichever_of_the_two_asks(api: Api) -> None:
    alice, bob = await _users(api, "alice", "bob")
    first = await api.client.post("/dms", json={"username": "bob"}, headers=alice)
    assert first.status_code == 201, first.text
    room = first.json()
    assert room["kind"] == "direct" and room["private"] is True
    assert room["name"] == "alice, bob"
    again = await api.client.post("/dms", json={"username": "BOB"}, headers=alice)
    back = await api.client.post("/dms", json={"username": "alice"}, headers=bob)
    assert again.status_code == back.status_code == 200
    assert again.json()["id"] == back.json()["id"] == room["id"]
    members = (await api.client.get(f"/rooms/{room['id']}/members", headers=bob)).json()["items"]
    assert sorted(m["username"] for m in members) == ["alice", "bob"]


async def test_concurrent_first_requests_make_one_room(api: Api) -> None:
    alice, bob = await _users(api, "alice", "bob")
    calls = [api.client.post("/dms", json={"username": "bob"}, headers=alice) for _ in range(4)]
    calls += [api.client.post("/dms", json={"username": "alice"}, headers=bob) for _ in range(4)]
    answers = await asyncio.gather(*calls)
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201], [r.text for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    listed = (await api.client.get("/rooms", headers=alice)).json()
    assert [r["kind"] for r in listed["items"]] == ["direct"] and listed["total"] == 1


async def test_unknown_users_and_oneself_are_refused(api: Api) -> None:
    (alice,) = await _users(api, "alice")
    assert (await api.client.post("/dms", json={"username": "nobody"}, headers=alice)).status_code == 404
    assert (await api.client.post("/dms", json={"username": "alice"}, headers=alice)).status_code == 422
    assert (await api.client.post("/dms", json={"username": "a b"}, headers=alice)).status_code == 422
    assert (await api.client.post("/dms", json={"username": "bob"})).status_code == 401


async def test_outside_the_unique_name_rule(api: Api) -> None:
    alice, _bob = await _users(api, "alice", "bob")
    named = await api.room(alice, "alice, bob")
    dm = (await api.client.post("/dms", json={"username": "bob"}, headers=alice)).json()
    assert dm["id"] != named["id"] and dm["name"] == named["name"]
    listed = [r["kind"] for r in (await api.client.get("/rooms", headers=alice)).json()["items"]]
    assert listed == ["room", "direct"]  # rooms by name, then conversations


async def test_never_renamed_and_its_members_fixed(api: Api) -> None:
    alice, bob, _carol = await _users(api, "alice", "bob", "carol")
    admin = await api.user("root", admin=True)
    dm = (await api.client.post("/dms", json={"username": "bob"}, headers=alice)).json()
    rid = dm["id"]
    for headers in (alice, admin):
        assert (await api.client.patch(f"/rooms/{rid}", json={"name": "x"}, headers=headers)).status_code == 403
        r = await api.client.post(f"/rooms/{rid}/members", json={"username": "carol"}, headers=headers)
        assert r.status_code == 403
    bob_id = (await api.client.get("/users/me", headers=bob)).json()["id"]
    assert (await api.client.delete(f"/rooms/{rid}/members/{bob_id}", headers=bob)).status_code == 403
    assert (await api.client.delete(f"/rooms/{rid}/members/{bob_id}", headers=alice)).status_code == 403
    assert (await api.client.delete(f"/rooms/{rid}", headers=alice)).status_code == 403
    assert (await api.client.post(f"/rooms/{rid}/join", headers=_carol)).status_code == 404
    assert (await api.client.get(f"/rooms/{rid}", headers=_carol)).status_code == 404
    assert (await api.client.delete(f"/rooms/{rid}", headers=admin)).status_code == 204


async def test_its_opener_has_no_owner_power(api: Api) -> None:
    """Whoever opened it, both users get the same answer to every owner's action."""
    alice, bob, _carol = await _users(api, "alice", "bob", "carol")
    dm = (await api.client.post("/dms", json={"username": "bob"}, headers=alice)).json()
    rid = dm["id"]
    ids = {h["Authorization"]: (await api.client.get("/users/me", headers=h)).json()["id"] for h in (alice, bob)}
    assert dm["owner_id"] == ids[alice["Authorization"]]

    async def answers(headers: dict[str, str]) -> list[tuple[int, object]]:
        other = next(i for key, i in ids.items() if key != headers["Authorization"])
        calls = [
            api.client.patch(f"/rooms/{rid}", json={"description": "mine"}, headers=headers),
            api.client.post(f"/rooms/{rid}/members", json={"username": "carol"}, headers=headers),
            api.client.delete(f"/rooms/{rid}/members/{other}", headers=headers),
            api.client.delete(f"/rooms/{rid}", headers=headers),
        ]
        return [(r.status_code, r.json()["detail"]) for r in [await call for call in calls]]

    opener = await answers(alice)
    assert opener == await answers(bob)
    assert [status for status, _ in opener] == [403] * 4
    assert (await api.client.get(f"/rooms/{rid}", headers=bob)).json() == dm
