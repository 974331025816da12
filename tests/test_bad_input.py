"""Malformed requests at every endpoint: always a 4xx with a useful detail, never a 500."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from jose import jwt

from service.auth.security import TokenCodec
from service.main import State
from tests.blanks import INVISIBLE
from tests.conftest import PASSWORD, TEST_KEY, Api, alg_none_token
from tests.storing import store_message

HUGE = "x" * 100_000
BIG_INT = 10**30


async def test_malformed_requests_get_4xx_with_detail(api: Api, state: State) -> None:
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
    expired = TokenCodec(TEST_KEY, state.settings).issue(uid, "access", now=now - timedelta(days=1)).token
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


async def test_a_read_seq_must_be_a_json_integer(api: Api, state: State) -> None:
    alice = await api.user("alice")
    room = await api.room(alice, "general")
    await store_message(state.engine, room["id"], room["owner_id"], "hello")
    json_headers = {**alice, "Content-Type": "application/json"}
    for seq in ("true", '"1"', "1.0", "1e0"):
        r = await api.client.post(f"/rooms/{room['id']}/read", content=f'{{"seq": {seq}}}', headers=json_headers)
        assert r.status_code == 422, (seq, r.text)
        assert r.json()["detail"] == [{"type": "int_type", "loc": ["body", "seq"], "msg": "must be a JSON integer"}]
    r = await api.client.post(f"/rooms/{room['id']}/read", content='{"seq": 1}', headers=json_headers)
    assert r.status_code == 204, r.text


async def test_a_room_name_of_invisible_characters_is_blank(api: Api) -> None:
    alice = await api.user("alice")
    room = await api.room(alice, "general")
    for name in INVISIBLE.values():
        for method, path in (("POST", "/rooms"), ("PATCH", f"/rooms/{room['id']}")):
            r = await api.client.request(method, path, json={"name": name}, headers=alice)
            assert r.status_code == 422, (method, name, r.text)
            (issue,) = r.json()["detail"]
            assert issue["loc"] == ["body", "name"] and issue["msg"].startswith("must not be blank"), r.text
    assert [r["name"] for r in (await api.client.get("/rooms", headers=alice)).json()["items"]] == ["general"]


async def test_validation_errors_say_in_words_what_is_wrong_without_echoing_the_input(api: Api) -> None:
    alice = await api.user("alice")
    room = await api.room(alice, "general")
    rid = room["id"]
    cases: list[tuple[str, str, dict]] = [
        ("POST", "/auth/register", {"json": {"username": "bad name!", "password": PASSWORD}}),
        ("POST", "/auth/register", {"json": {"username": "zz", "password": "shorty"}}),
        ("POST", "/auth/register", {"json": {"username": "w" * 33, "password": "p" * 257}}),
        ("POST", "/auth/register", {"json": {"username": "nul\x00name", "password": 12345678}}),
        ("POST", "/rooms", {"json": {"name": "   "}}),
        ("POST", "/rooms", {"json": {"name": "room\x00name", "description": "desc\x00ription"}}),
        ("POST", "/rooms", {"json": {"name": "n" * 65, "description": "d" * 501}}),
        ("POST", "/rooms", {"json": {"name": "fine", "private": "yes please"}}),
        ("PATCH", f"/rooms/{rid}", {"json": {"name": "\u200b\u200b\u200b"}}),
        ("PATCH", f"/rooms/{rid}", {"json": {"description": "desc\x00ription"}}),
        ("PATCH", f"/rooms/{rid}/messages/1", {"json": {"body": "body\x00text"}}),
        ("PATCH", f"/rooms/{rid}/messages/1", {"json": {"body": " \u2060 \ufeff "}}),
        ("POST", f"/rooms/{rid}/members", {"json": {"username": "who is this"}}),
        ("POST", "/dms", {"json": {"username": "who is this"}}),
        ("POST", f"/rooms/{rid}/read", {"json": {"seq": "12345"}}),
        ("POST", f"/rooms/{rid}/read", {"json": {"seq": -12345}}),
        ("POST", "/auth/refresh", {"json": {"refresh_token": 12345}}),
        ("GET", "/rooms?limit=lots&offset=-12345", {}),
        ("GET", f"/rooms/{rid}/messages?after_seq=later", {}),
        ("GET", "/search?q=" + "q" * 501, {}),
    ]
    for method, path, kwargs in cases:
        r = await api.client.request(method, path, headers=alice, **kwargs)
        assert r.status_code == 422, (method, path, r.text)
        for issue in r.json()["detail"]:
            msg = issue["msg"]
            assert "pattern" not in msg and not re.search(r"[\^$\\\[\]]", msg), (path, issue)
            assert msg and not msg.startswith(("Value error", "String should", "Input should")), (path, issue)
            assert all(isinstance(part, int) or re.fullmatch(r"[a-z_]+", part) for part in issue["loc"]), issue
        sent = [*_strings(kwargs.get("json")), *(v for _, v in parse_qsl(path.partition("?")[2]))]
        for value in sent:
            for form in (value, json.dumps(value)[1:-1]):
                assert len(form.strip()) < 3 or form not in r.text, (path, value, r.text)


def _strings(value: object) -> list[str]:
    """The string and number values in a JSON body, as text."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [str(value)]
    return []
