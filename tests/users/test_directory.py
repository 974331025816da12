"""GET /users, the user directory: users whose name starts with
`prefix` ignoring case, by name, at most `limit` (≤ 20, default 10); limited per user."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert

from service import tables
from service.config import Settings
from service.users.service import users_by_prefix
from tests.conftest import Api, make_settings
from tests.plans import plans_of


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, user_lookup_limit_per_user="100000/hour")


async def _listed(api: Api, names: list[str]) -> None:
    """Users who never log in, straight into the table (hashing 30 passwords is slow)."""
    rows = [{"username": n, "username_key": n.lower(), "password_hash": "-", "is_admin": False} for n in names]
    async with api.state.engine.begin() as conn:
        await conn.execute(insert(tables.users), rows)


async def _names(api: Api, headers: dict[str, str], **params: object) -> list[str]:
    r = await api.client.get("/users", params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"items"}
    return [u["username"] for u in r.json()["items"]]


async def test_users_whose_name_starts_with_the_prefix_ignoring_case_by_name(api: Api) -> None:
    alice = await api.user("alice")
    await _listed(api, ["Bob", "bobby", "BOBCAT", "bo_b", "bo.b", "bo-b", "robert", "xbob", "b0b"])
    assert await _names(api, alice, prefix="bob") == ["Bob", "bobby", "BOBCAT"]
    assert await _names(api, alice, prefix="BoB") == ["Bob", "bobby", "BOBCAT"]
    assert await _names(api, alice, prefix="bobc") == ["BOBCAT"]
    assert await _names(api, alice, prefix="b") == ["b0b", "bo-b", "bo.b", "bo_b", "Bob", "bobby", "BOBCAT"]
    # Punctuation is a name's own character, never a wildcard.
    assert await _names(api, alice, prefix="bo_") == ["bo_b"]
    assert await _names(api, alice, prefix="bo.") == ["bo.b"]
    assert await _names(api, alice, prefix="bo-") == ["bo-b"]
    # The caller is in the directory too; a whole name matches itself.
    assert await _names(api, alice, prefix="ALICE") == ["alice"]


async def test_a_prefix_no_name_can_start_with_finds_nobody(api: Api) -> None:
    alice = await api.user("alice")
    await _listed(api, ["bob", "bo_b", "kate"])
    for prefix in ("%", "b%", "_", "bo%", "bo*", "b?", "é", "bob ", " bob", "b\u0131", "\u212aate", "bo\x00"):
        assert await _names(api, alice, prefix=prefix) == [], prefix


async def test_limit_defaults_to_ten_and_goes_to_twenty(api: Api) -> None:
    alice = await api.user("alice")
    names = [f"user{i:02}" for i in range(25)]
    await _listed(api, names)
    assert await _names(api, alice, prefix="user") == names[:10]
    assert await _names(api, alice, prefix="USER", limit=20) == names[:20]
    assert await _names(api, alice, prefix="user1", limit=3) == names[10:13]
    assert await _names(api, alice, prefix="user2", limit=20) == names[20:]


async def test_bad_parameters_are_422_without_echoing_them(api: Api) -> None:
    alice = await api.user("alice")
    bad: list[dict[str, object]] = [
        {},
        {"prefix": ""},
        {"prefix": "x" * 33},
        {"prefix": "bob", "limit": 0},
        {"prefix": "bob", "limit": 21},
        {"prefix": "bob", "limit": "ten"},
        {"prefix": "bob", "limit": 1.5},
    ]
    for params in bad:
        r = await api.client.get("/users", params=params, headers=alice)
        assert r.status_code == 422, (params, r.text)
        assert "input" not in r.text
    assert await _names(api, alice, prefix="x" * 32) == []
    r = await api.client.get("/users", params={"prefix": "bob"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"


async def test_a_lookup_reads_one_range_of_the_name_index(migrated_template: Path, tmp_path: Path) -> None:
    """However many users there are, only the names starting with the prefix are read (SQLite's plan)."""
    plans = await plans_of(migrated_template, tmp_path, lambda session: users_by_prefix(session, "Bo"))
    ((plan,),) = [[p for s, p in plans.items() if "FROM users" in s]]
    assert plan == ["SEARCH users USING INDEX sqlite_autoindex_users_1 (username_key>? AND username_key<?)"], plan
