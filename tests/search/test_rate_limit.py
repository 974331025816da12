"""Searches are limited per user: past the limit 429 with Retry-After, while
others search on (docs/protocol.md, Limits and settings)."""

from __future__ import annotations

import pytest

from service.config import Settings
from tests.conftest import Api, make_settings

LIMIT = 3


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, search_limit_per_user=f"{LIMIT}/minute")


async def test_searches_past_the_users_limit_are_429_and_others_search_on(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    for _ in range(LIMIT):
        r = await api.client.get("/search", params={"q": "anything"}, headers=alice)
        assert r.status_code == 200, r.text
    r = await api.client.get("/search", params={"q": "anything"}, headers=alice)
    assert r.status_code == 429, r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.json() == {"detail": "too many searches; retry later"}
    r = await api.client.get("/search", params={"q": "anything"}, headers=bob)
    assert r.status_code == 200, r.text
