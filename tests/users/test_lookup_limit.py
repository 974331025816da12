"""GET /users is limited per user (CHAT_USER_LOOKUP_LIMIT_PER_USER); over it, 429 with Retry-After."""

from __future__ import annotations

import pytest

from service.config import Settings
from tests.conftest import Api, make_settings

LOOKUPS = 4


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, user_lookup_limit_per_user=f"{LOOKUPS}/minute")


async def _found(api: Api, headers: dict[str, str], prefix: str) -> list[str]:
    r = await api.client.get("/users", params={"prefix": prefix}, headers=headers)
    assert r.status_code == 200, r.text
    return [u["username"] for u in r.json()["items"]]


async def test_lookups_past_the_users_limit_are_429_and_others_look_up_on(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    for _ in range(LOOKUPS):
        assert await _found(api, alice, "b") == ["bob"]
    r = await api.client.get("/users", params={"prefix": "b"}, headers=alice)
    assert r.status_code == 429, r.text
    assert r.json() == {"detail": "too many user lookups; retry later"}
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert await _found(api, bob, "a") == ["alice"]


async def test_refused_parameters_are_not_counted(api: Api) -> None:
    alice = await api.user("alice")
    for _ in range(LOOKUPS + 2):
        r = await api.client.get("/users", params={"prefix": ""}, headers=alice)
        assert r.status_code == 422, r.text
    for _ in range(LOOKUPS):
        assert await _found(api, alice, "al") == ["alice"]
