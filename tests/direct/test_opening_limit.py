"""POST /dms is limited per user (CHAT_DM_CREATE_LIMIT_PER_USER), counting only the
conversations a call makes (201): opening one that exists (200) is never refused."""

from __future__ import annotations

import pytest

from service.config import Settings
from tests.conftest import Api, make_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, dm_create_limit_per_user="2/hour")


async def _open(api: Api, headers: dict[str, str], username: str) -> tuple[int, dict]:
    r = await api.client.post("/dms", json={"username": username}, headers=headers)
    return r.status_code, r.json()


async def test_only_new_conversations_count_and_over_the_limit_none_is_made(api: Api) -> None:
    alice, bob, carol, dave = [await api.user(name) for name in ("alice", "bob", "carol", "dave")]
    assert (await _open(api, alice, "bob"))[0] == 201
    for _ in range(3):  # reopening, by either of the two, counts for nobody
        assert (await _open(api, alice, "bob"))[0] == 200
        assert (await _open(api, bob, "alice"))[0] == 200
    assert (await _open(api, alice, "carol"))[0] == 201

    r = await api.client.post("/dms", json={"username": "dave"}, headers=alice)
    assert r.status_code == 429, r.text
    assert r.json() == {"detail": "too many direct conversations opened; retry later"}
    assert 1 <= int(r.headers["Retry-After"]) <= 3600
    assert (await api.client.get("/users/me/rooms", headers=dave)).json()["items"] == []
    mine = (await api.client.get("/rooms", headers=alice)).json()["items"]
    assert sorted(room["name"] for room in mine) == ["alice, bob", "alice, carol"]

    # At the limit, the conversations that exist still open.
    status, room = await _open(api, alice, "carol")
    assert status == 200 and room["name"] == "alice, carol"
    # Another user is not limited by alice's count; then alice reopens theirs.
    assert (await _open(api, dave, "alice"))[0] == 201
    assert (await _open(api, alice, "dave"))[0] == 200
