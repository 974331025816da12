"""A login is one family of tokens: reuse of a refresh token, or logout, ends all of it."""

from __future__ import annotations

from service.auth.security import TokenCodec
from service.main import State
from tests.conftest import TEST_KEY, Api


def bearer(pair: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def refreshed(api: Api, pair: dict) -> dict:
    r = await api.client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 200, r.text
    return r.json()


async def test_refresh_reuse_revokes_every_access_token_of_that_login(api: Api) -> None:
    await api.register("alice")
    first = await api.login("alice")
    second = await refreshed(api, first)
    third = await refreshed(api, second)
    other = await api.login("alice")
    r = await api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401 and r.json() == {"detail": "token revoked"}
    for pair in (first, second, third):
        r = await api.client.get("/users/me", headers=bearer(pair))
        assert r.status_code == 401 and r.json() == {"detail": "token revoked"}
        r = await api.client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert r.status_code == 401
    # Another login of the same user is another family.
    assert (await api.client.get("/users/me", headers=bearer(other))).status_code == 200
    assert (await api.client.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})).status_code == 200


async def test_logout_without_body_revokes_that_login(api: Api) -> None:
    await api.register("alice")
    first = await api.login("alice")
    second = await refreshed(api, first)
    other = await api.login("alice")
    assert (await api.client.post("/auth/logout", headers=bearer(second))).status_code == 204
    r = await api.client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401 and r.json() == {"detail": "token revoked"}
    # The access token from before the rotation belongs to the same login.
    r = await api.client.get("/users/me", headers=bearer(first))
    assert r.status_code == 401 and r.json() == {"detail": "token revoked"}
    assert (await api.client.get("/users/me", headers=bearer(other))).status_code == 200


async def test_access_token_without_family_is_checked_by_its_jti_alone(api: Api, state: State) -> None:
    """Tokens issued before the family claim existed keep working until they expire."""
    user = await api.register("alice")
    legacy = TokenCodec(TEST_KEY, state.settings).issue(user["id"], "access").token
    assert legacy.count(".") == 2
    headers = {"Authorization": f"Bearer {legacy}"}
    assert (await api.client.get("/users/me", headers=headers)).status_code == 200
    assert (await api.client.post("/auth/logout", headers=headers)).status_code == 204
    assert (await api.client.get("/users/me", headers=headers)).status_code == 401
