"""Malformed requests at every endpoint: always a 4xx with a useful detail, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jose import jwt

from service.auth.security import TokenCodec
from service.resources import Resources
from tests.conftest import PASSWORD, TEST_KEY, Api, alg_none_token

HUGE = "x" * 100_000
BIG_INT = 10**30


async def test_malformed_requests_get_4xx_with_detail(api: Api, resources: Resources) -> None:
    alice = await api.user("alice")
    room = await api.room(alice, "general")
    rid, uid = room["id"], room["owner_id"]
    pair = await api.login("alice")
    json_headers = {**alice, "Content-Type": "application/json"}

    cases: list[tuple[str, str, dict]] = [
        # register
        ("POST", "/auth/register", {"json": {}}),
        ("POST", "/auth/register", {"json": {"username": 5, "password": PASSWORD}}),
        ("POST", "/auth/register", {"json": {"username": ["a"], "password": {"x": 1}}}),
        ("POST", "/auth/register", {"json": {"username": HUGE, "password": PASSWORD}}),
        ("POST", "/auth/register", {"json": {"username": "bob", "password": HUGE}}),
        ("POST", "/auth/register", {"json": [1, 2]}),
        ("POST", "/auth/register", {"json": None}),
        ("POST", "/auth/register", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
        ("POST", "/auth/register", {"content": b"\xff\xfe\x00", "headers": {"Content-Type": "application/json"}}),
        ("POST", "/auth/register", {"data": {"username": "bob", "password": PASSWORD}}),
        # token
        ("POST", "/auth/token", {"data": {}}),
        ("POST", "/auth/token", {"data": {"username": "alice"}}),
        ("POST", "/auth/token", {"data": {"username": HUGE, "password": HUGE}}),
        ("POST", "/auth/token", {"json": {"username": "alice", "password": PASSWORD}}),
        (
            "POST",
            "/auth/token",
            {"data": {"username": "alice", "password": PASSWORD, "grant_type": "client_credentials"}},
        ),
        # refresh
        ("POST", "/auth/refresh", {"json": {}}),
        ("POST", "/auth/refresh", {"json": {"refresh_token": 123}}),
        ("POST", "/auth/refresh", {"json": {"refresh_token": HUGE}}),
        ("POST", "/auth/refresh", {"json": {"refresh_token": "a.b.c"}}),
        ("POST", "/auth/refresh", {"content": b"[", "headers": {"Content-Type": "application/json"}}),
        # logout
        ("POST", "/auth/logout", {"json": {"refresh_token": 5}, "headers": alice}),
        ("POST", "/auth/logout", {"content": b"{", "headers": json_headers}),
        ("POST", "/auth/logout", {"json": {"refresh_token": "junk"}}),  # no bearer
        # rooms
        ("POST", "/rooms", {"json": {"name": 5}, "headers": alice}),
        ("POST", "/rooms", {"json": {"name": HUGE}, "headers": alice}),
        ("POST", "/rooms", {"json": {"name": "a", "description": HUGE}, "headers": alice}),
        ("POST", "/rooms", {"json": {"name": "a", "private": "yes please"}, "headers": alice}),
        ("POST", "/rooms", {"content": b"nope", "headers": json_headers}),
        ("GET", "/rooms?limit=-1", {"headers": alice}),
        ("GET", "/rooms?limit=201", {"headers": alice}),
        ("GET", f"/rooms?limit={BIG_INT}", {"headers": alice}),
        ("GET", "/rooms?offset=-5", {"headers": alice}),
        ("GET", f"/rooms?offset={BIG_INT}", {"headers": alice}),
        ("GET", "/rooms?limit=abc", {"headers": alice}),
        ("GET", "/rooms/abc", {"headers": alice}),
        ("GET", "/rooms/-1", {"headers": alice}),
        ("GET", "/rooms/0", {"headers": alice}),
        ("GET", f"/rooms/{BIG_INT}", {"headers": alice}),
        ("GET", "/rooms/999999", {"headers": alice}),
        ("GET", "/rooms/1.5", {"headers": alice}),
        ("PATCH", f"/rooms/{rid}", {"json": {"name": ""}, "headers": alice}),
        ("PATCH", f"/rooms/{rid}", {"json": {"description": None}, "headers": alice}),
        ("PATCH", f"/rooms/{rid}", {"json": {"name": HUGE}, "headers": alice}),
        ("PATCH", f"/rooms/{rid}", {"json": "name", "headers": alice}),
        ("PATCH", f"/rooms/{BIG_INT}", {"json": {"name": "x"}, "headers": alice}),
        ("DELETE", f"/rooms/{BIG_INT}", {"headers": alice}),
        ("DELETE", "/rooms/999999", {"headers": alice}),
        ("GET", "/rooms/999999/members", {"headers": alice}),
        ("POST", f"/rooms/{rid}/members", {"json": {}, "headers": alice}),
        ("POST", f"/rooms/{rid}/members", {"json": {"username": HUGE}, "headers": alice}),
        ("POST", f"/rooms/{rid}/members", {"json": {"username": 12}, "headers": alice}),
        ("POST", f"/rooms/{rid}/members", {"json": {"username": "ghost"}, "headers": alice}),
        ("DELETE", f"/rooms/{rid}/members/{BIG_INT}", {"headers": alice}),
        ("DELETE", f"/rooms/{rid}/members/abc", {"headers": alice}),
        ("DELETE", f"/rooms/{rid}/members/999999", {"headers": alice}),
        ("DELETE", f"/rooms/{rid}/members/{uid}", {"headers": alice}),  # the owner
        # history
        ("GET", f"/rooms/{rid}/messages?after_seq=-1", {"headers": alice}),
        ("GET", f"/rooms/{rid}/messages?before_seq=-1", {"headers": alice}),
        ("GET", f"/rooms/{rid}/messages?after_seq={BIG_INT}", {"headers": alice}),
        ("GET", f"/rooms/{rid}/messages?before_seq={BIG_INT}", {"headers": alice}),
        ("GET", f"/rooms/{rid}/messages?limit=0", {"headers": alice}),
        ("GET", f"/rooms/{rid}/messages?limit=100000", {"headers": alice}),
        ("GET", f"/rooms/{rid}/messages?after_seq=x", {"headers": alice}),
        ("GET", f"/rooms/{BIG_INT}/messages", {"headers": alice}),
        ("GET", "/rooms/999999/messages", {"headers": alice}),
    ]

    now = datetime.now(UTC)
    expired = TokenCodec(TEST_KEY, resources.settings).issue(uid, "access", now=now - timedelta(days=1)).token
    bad_tokens = {
        "tampered": pair["access_token"][:-3] + "abc",
        "expired": expired,
        "alg none": alg_none_token(
            {"sub": str(uid), "exp": int(now.timestamp()) + 60, "iat": 0, "jti": "j", "type": "access"}
        ),
        "huge": HUGE,
        "refresh as access": pair["refresh_token"],
        "non-numeric sub": jwt.encode(
            {"sub": "abc", "exp": int(now.timestamp()) + 60, "iat": 0, "jti": "j", "type": "access"}, TEST_KEY
        ),
        "huge sub": jwt.encode(
            {"sub": str(BIG_INT), "exp": int(now.timestamp()) + 60, "iat": 0, "jti": "j", "type": "access"}, TEST_KEY
        ),
        "list sub": jwt.encode(
            {"sub": ["1"], "exp": int(now.timestamp()) + 60, "iat": 0, "jti": "j", "type": "access"}, TEST_KEY
        ),
        "string exp": jwt.encode({"sub": "1", "exp": "soon", "iat": 0, "jti": "j", "type": "access"}, TEST_KEY),
    }
    authed = [
        ("GET", "/users/me"),
        ("GET", "/rooms"),
        ("POST", "/rooms"),
        ("GET", f"/rooms/{rid}"),
        ("PATCH", f"/rooms/{rid}"),
        ("DELETE", f"/rooms/{rid}"),
        ("GET", f"/rooms/{rid}/members"),
        ("POST", f"/rooms/{rid}/members"),
        ("DELETE", f"/rooms/{rid}/members/{uid}"),
        ("GET", f"/rooms/{rid}/messages"),
        ("POST", "/auth/logout"),
    ]
    for token in bad_tokens.values():
        for method, path in authed:
            cases.append((method, path, {"headers": {"Authorization": f"Bearer {token}"}, "json": {"name": "z"}}))
    for method, path in authed:
        cases.append((method, path, {"headers": {"Authorization": "Basic dXNlcjpwYXNz"}}))
        cases.append((method, path, {}))

    for method, path, kwargs in cases:
        r = await api.client.request(method, path, **kwargs)
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:300])
        detail = r.json()["detail"]
        assert detail, (method, path)
        if r.status_code == 401:
            assert r.headers["www-authenticate"] == "Bearer"
        assert len(r.content) < 5_000, (method, path)  # no echo of a 100 kB input

    # Still standing: the room and the user are intact.
    assert (await api.client.get(f"/rooms/{rid}", headers=alice)).status_code == 200
