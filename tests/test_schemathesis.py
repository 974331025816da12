"""Every operation answers as /openapi.json says: schemathesis generates requests
from the document and checks each answer's status, content type, body and headers."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import get_client, shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from service.db import create_engine
from service.main import State, create_app
from tests.conftest import PASSWORD, TABLES, _pg, make_settings, state_of
from tests.storing import store_message

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,  # 405 with Allow for a method the path does not have
    positive_data_acceptance,  # what the schema allows (a null, say) is not a 422
]
# Not negative_data_rejection: room names are stripped before their length is checked,
# so a padded name longer than the schema's maxLength is accepted on purpose.


async def _seed_messages(url: str, room_ids: list[int], user_id: int) -> None:
    engine = create_engine(url)
    try:
        for room_id in room_ids:
            for i in range(3):
                await store_message(engine, room_id, user_id, f"message {i}", client_msg_id=f"m{i}" if i else None)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, migrated_template: Path
) -> str:
    """As the suite's database_url, once for the module: PostgreSQL refuses what SQLite stores."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("schemathesis") / "chat.db"
        shutil.copyfile(migrated_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _pg(url.replace("+asyncpg", ""), f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture(scope="module")
def app(database_url: str) -> Iterator[FastAPI]:
    app = create_app(make_settings(database_url))
    # The client starts the app's lifespan, which schemathesis keeps for later requests.
    with get_client(app) as client:

        def user(name: str) -> tuple[int, dict[str, str]]:
            created = client.post("/api/v1/auth/register", json={"username": name, "password": PASSWORD})
            token = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD}).json()
            return created.json()["id"], {"Authorization": f"Bearer {token['access_token']}"}

        def room(headers: dict[str, str], name: str, private: bool) -> int:
            r = client.post("/api/v1/rooms", json={"name": name, "private": private}, headers=headers)
            assert r.status_code == 201, r.text
            return r.json()["id"]

        alice_id, alice = user("alice")
        _, bob = user("bob")
        # Small ids, so generated ids often reach past 404: bob's rooms answer alice's
        # PATCH and DELETE with 403 and outlive them; alice's own may go on the way.
        rooms = [room(bob, "general", False), room(bob, "secret", True), room(alice, "mine", False)]
        assert client.post(f"/api/v1/rooms/{rooms[1]}/members", json={"username": "alice"}, headers=bob).ok
        asyncio.run(_seed_messages(database_url, rooms, alice_id))
    app.state.tested_user_id = alice_id
    try:
        yield app
    finally:
        shutdown_lifespans()


# The document does not depend on the database, so it is read at collection from an
# app that never starts; the requests go to the running app of the fixture.
schema = schemathesis.openapi.from_dict(create_app(make_settings("sqlite+aiosqlite:///unused.db")).openapi())


@schema.hook
def map_body(_context: schemathesis.HookContext, body: object) -> object:
    """JSON Schema counts `2.0` as an integer; the service takes JSON integers only
    (docs/protocol.md), which no schema keyword can say: integers are sent spelled as such."""
    if isinstance(body, float) and body.is_integer():
        return int(body)
    if isinstance(body, dict):
        return {key: map_body(_context, value) for key, value in body.items()}
    if isinstance(body, list):
        return [map_body(_context, value) for value in body]
    return body


@schema.parametrize()
# Generation may be slow on a shared CI machine; that is not a finding.
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_operation_answers_as_documented(case: schemathesis.Case, app: FastAPI) -> None:
    state: State = state_of(app)
    # A fresh token per case: a generated logout revokes only its own.
    token = state.codec.issue(app.state.tested_user_id, "access").token
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
