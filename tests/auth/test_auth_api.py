from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jose import jwt

from service.auth.security import IAT_LEEWAY_SECONDS, TokenCodec
from service.main import State
from tests.conftest import PASSWORD, TEST_KEY, Api, alg_none_token
from tests.realtime.conftest import wait_until

# How long a held hash waits for the other request's answer before giving up.
HOLD_SECONDS = 5.0


async def test_register_returns_user_without_secrets(client: httpx.AsyncClient) -> None:
    r = await client.post("/auth/register", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "username", "is_admin", "created_at"}
    assert body["username"] == "alice" and body["is_admin"] is False
    assert body["created_at"].endswith("Z")


async def test_username_is_unique_ignoring_case(api: Api) -> None:
    await api.register("Alice")
    r = await api.client.post("/auth/register", json={"username": "aLICE", "password": PASSWORD})
    assert r.status_code == 409
    assert r.json() == {"detail": "username already taken"}


async def test_register_validates_username_and_password(client: httpx.AsyncClient) -> None:
    for username, password in [
        ("ab", PASSWORD),
        ("a" * 33, PASSWORD),
        ("bad name", PASSWORD),
        ("émile", PASSWORD),
        ("bob", "pw-1234"),
        ("bob", "x" * 257),
    ]:
        r = await client.post("/auth/register", json={"username": username, "password": password})
        assert r.status_code == 422, (username, password)
        assert password not in r.text  # the input is not echoed back


async def test_login_is_case_insensitive_and_returns_bearer_pair(api: Api) -> None:
    await api.register("Alice")
    token = await api.login("alice")
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 15 * 60
    me = await api.client.get("/users/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == "Alice"


async def test_unknown_user_and_wrong_password_get_the_same_401(api: Api) -> None:
    await api.register("alice")
    wrong = await api.client.post("/auth/token", data={"username": "alice", "password": "not the password"})
    unknown = await api.client.post("/auth/token", data={"username": "nobody", "password": "not the password"})
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
    assert wrong.json() == unknown.json() == {"detail": "incorrect username or password"}


async def test_login_with_nul_in_the_username_is_the_usual_401(api: Api) -> None:
    await api.register("alice")
    r = await api.client.post("/auth/token", data={"username": "alice\u0000", "password": PASSWORD})
    assert r.status_code == 401
    assert r.json() == {"detail": "incorrect username or password"}


async def test_unknown_user_takes_as_long_as_wrong_password(api: Api) -> None:
    """Both paths verify an argon2 hash; without the dummy hash an unknown user
    is rejected about eight times faster (the hash is most of a login's cost)."""
    await api.register("alice")
    times: dict[str, list[float]] = {"alice": [], "nobody": []}
    for _ in range(6):
        # Interleaved, so a spell of load on the machine slows both kinds alike.
        for username, samples in times.items():
            start = time.perf_counter()
            r = await api.client.post("/auth/token", data={"username": username, "password": "wrong password"})
            samples.append(time.perf_counter() - start)
            assert r.status_code == 401
    # The fastest of each: load only ever adds time, so the minimum is the cost itself.
    wrong, unknown = min(times["alice"]), min(times["nobody"])
    assert 0.25 < unknown / wrong < 4, times


async def test_password_hashing_does_not_block_the_event_loop(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a login's (or a registration's) hash runs, another user's request is
    answered. Each hash is held until that request has its answer: a hash run on
    the event loop would hold the loop too, the request could not be answered, and
    the hash would give up waiting for it."""
    bystander = await api.user("bob")
    await api.register("alice")
    context = api.state.hasher._context
    hashing, answered = threading.Event(), threading.Event()
    saw_answer: list[bool] = []

    def held(real: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            hashing.set()
            saw_answer.append(answered.wait(timeout=HOLD_SECONDS))
            return real(*args, **kwargs)

        return run

    monkeypatch.setattr(context, "verify", held(context.verify))
    monkeypatch.setattr(context, "hash", held(context.hash))
    for hashes in (api.login("alice"), api.register("carol")):
        hashing.clear()
        answered.clear()
        task = asyncio.ensure_future(hashes)
        await wait_until(hashing.is_set, timeout=2 * HOLD_SECONDS)
        r = await api.client.get("/users/me", headers=bystander)
        answered.set()
        assert r.status_code == 200
        await task
    assert saw_answer == [True, True]


async def test_refresh_rotates_and_old_refresh_token_never_works_again(api: Api) -> None:
    await api.register("alice")
    first = await api.login("alice")
    r = await api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    me = await api.client.get("/users/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert me.status_code == 200

    again = await api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert again.status_code == 401
    assert again.headers["www-authenticate"] == "Bearer"
    # Reuse of a rotated token ends the whole login, the newer refresh token included.
    r = await api.client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401


async def test_concurrent_refreshes_with_one_token_succeed_once(api: Api) -> None:
    await api.register("alice")
    token = (await api.login("alice"))["refresh_token"]
    results = await asyncio.gather(*(api.client.post("/auth/refresh", json={"refresh_token": token}) for _ in range(4)))
    assert sorted(r.status_code for r in results) == [200, 401, 401, 401]


async def test_access_token_is_not_a_refresh_token(api: Api) -> None:
    await api.register("alice")
    pair = await api.login("alice")
    r = await api.client.post("/auth/refresh", json={"refresh_token": pair["access_token"]})
    assert r.status_code == 401
    r = await api.client.get("/users/me", headers={"Authorization": f"Bearer {pair['refresh_token']}"})
    assert r.status_code == 401
    assert r.json() == {"detail": "invalid token"}


async def test_logout_revokes_access_and_refresh_tokens(api: Api) -> None:
    await api.register("alice")
    pair = await api.login("alice")
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    r = await api.client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]}, headers=headers)
    assert r.status_code == 204
    me = await api.client.get("/users/me", headers=headers)
    assert me.status_code == 401
    assert me.json() == {"detail": "token revoked"}
    r = await api.client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 401
    # Other logins of the same user are untouched.
    other = await api.login("alice")
    me = await api.client.get("/users/me", headers={"Authorization": f"Bearer {other['access_token']}"})
    assert me.status_code == 200


async def test_logout_without_body_revokes_the_access_token(api: Api) -> None:
    headers = await api.user("alice")
    assert (await api.client.post("/auth/logout", headers=headers)).status_code == 204
    assert (await api.client.get("/users/me", headers=headers)).status_code == 401


async def test_logout_accepts_the_nulls_its_schema_allows(api: Api) -> None:
    for i, body in enumerate((None, {"refresh_token": None})):
        headers = await api.user(f"user{i}")
        r = await api.client.post(
            "/auth/logout", content=json.dumps(body), headers={**headers, "Content-Type": "application/json"}
        )
        assert r.status_code == 204, body
        assert (await api.client.get("/users/me", headers=headers)).status_code == 401


async def test_bad_tokens_get_401_with_reason(api: Api, state: State) -> None:
    user = await api.register("alice")
    good = (await api.login("alice"))["access_token"]
    now = datetime.now(UTC)
    claims = {"sub": str(user["id"]), "iat": int(now.timestamp()), "jti": "x", "type": "access"}
    expired_codec = TokenCodec(TEST_KEY, state.settings)
    expired = expired_codec.issue(user["id"], "access", now=now - timedelta(hours=1)).token
    header, payload, signature = good.split(".")
    cases = {
        "missing": (None, "missing token"),
        "garbage": ("not-a-jwt", "invalid token"),
        "tampered": (f"{header}.{payload[:-2]}AA.{signature}", "invalid token"),
        "wrong key": (jwt.encode({**claims, "exp": int(now.timestamp()) + 60}, "z" * 48), "invalid token"),
        "alg none": (alg_none_token({**claims, "exp": int(now.timestamp()) + 60}), "invalid token"),
        "no jti": (
            jwt.encode({k: v for k, v in claims.items() if k != "jti"} | {"exp": int(now.timestamp()) + 60}, TEST_KEY),
            "invalid token",
        ),
        "no type": (
            jwt.encode({k: v for k, v in claims.items() if k != "type"} | {"exp": int(now.timestamp()) + 60}, TEST_KEY),
            "invalid token",
        ),
        "no exp": (jwt.encode(claims, TEST_KEY), "invalid token"),
        "HS512": (
            jwt.encode({**claims, "exp": int(now.timestamp()) + 60}, TEST_KEY, algorithm="HS512"),
            "invalid token",
        ),
        "expired": (expired, "token expired"),
        "unknown user": (
            jwt.encode({**claims, "sub": "999999", "exp": int(now.timestamp()) + 60}, TEST_KEY),
            "invalid token",
        ),
    }
    for name, (token, reason) in cases.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = await api.client.get("/users/me", headers=headers)
        assert r.status_code == 401, name
        assert r.json() == {"detail": reason}, name
        assert r.headers["www-authenticate"] == "Bearer", name


async def test_token_issued_in_the_future_is_refused(api: Api, state: State) -> None:
    user = await api.register("alice")
    codec = TokenCodec(TEST_KEY, state.settings)
    now = datetime.now(UTC)
    ahead = codec.issue(user["id"], "access", now=now + timedelta(days=1)).token
    r = await api.client.get("/users/me", headers={"Authorization": f"Bearer {ahead}"})
    assert r.status_code == 401 and r.json() == {"detail": "invalid token"}
    refresh_ahead = codec.issue(user["id"], "refresh", now=now + timedelta(days=1)).token
    r = await api.client.post("/auth/refresh", json={"refresh_token": refresh_ahead})
    assert r.status_code == 401 and r.json() == {"detail": "invalid token"}
    # Within the leeway: clocks of two instances may differ by a few seconds.
    skewed = codec.issue(user["id"], "access", now=now + timedelta(seconds=IAT_LEEWAY_SECONDS - 10)).token
    r = await api.client.get("/users/me", headers={"Authorization": f"Bearer {skewed}"})
    assert r.status_code == 200
