"""POST /rooms is limited per user (CHAT_ROOM_CREATE_LIMIT_PER_USER); over it, 429 with Retry-After."""

from __future__ import annotations

import pytest

from service.config import Settings
from tests.conftest import Api, make_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, room_create_limit_per_user="3/hour")


async def test_over_the_limit_a_room_is_refused_and_not_made(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    for name in ("one", "two", "three"):
        await api.room(alice, name, private=name == "two")
    r = await api.client.post("/rooms", json={"name": "four"}, headers=alice)
    assert r.status_code == 429, r.text
    assert r.json() == {"detail": "too many rooms created; retry later"}
    assert 1 <= int(r.headers["Retry-After"]) <= 3600
    listed = (await api.client.get("/rooms", headers=alice)).json()
    assert sorted(room["name"] for room in listed["items"]) == ["one", "three", "two"]
    # Nothing of it was kept: the name is free for someone under their limit.
    assert (await api.room(bob, "four"))["name"] == "four"
    assert (await api.client.post("/rooms", json={"name": "five"}, headers=alice)).status_code == 429
