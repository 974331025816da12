"""/openapi.json tells the truth: every error a route can answer, with its body and headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.main import create_app
from tests.conftest import make_settings

BODY = {400, 413, 422}  # any route that reads a body
READER = {401, 404, 422}  # a route on a room the caller may read (422: a malformed id)
MANAGER = READER | {403}

# The errors each operation can answer (README and the REST table of the contract).
EXPECTED_ERRORS: dict[tuple[str, str], set[int]] = {
    ("post", "/api/v1/auth/register"): BODY | {409},
    ("post", "/api/v1/auth/token"): BODY | {401, 429},
    ("post", "/api/v1/auth/refresh"): BODY | {401},
    ("post", "/api/v1/auth/logout"): BODY | {401},
    ("get", "/api/v1/users/me"): {401},
    ("post", "/api/v1/rooms"): BODY | {401, 409, 429},
    ("get", "/api/v1/rooms"): {401, 422},
    ("get", "/api/v1/rooms/{room_id}"): READER,
    ("patch", "/api/v1/rooms/{room_id}"): MANAGER | BODY | {409},
    ("delete", "/api/v1/rooms/{room_id}"): MANAGER,
    ("get", "/api/v1/rooms/{room_id}/members"): READER,
    ("post", "/api/v1/rooms/{room_id}/members"): MANAGER | BODY | {409},
    ("delete", "/api/v1/rooms/{room_id}/members/{user_id}"): MANAGER,
    ("get", "/api/v1/rooms/{room_id}/messages"): READER,
    ("patch", "/api/v1/rooms/{room_id}/messages/{seq}"): READER | BODY | {403, 409},
    ("delete", "/api/v1/rooms/{room_id}/messages/{seq}"): READER | {403},
    ("get", "/api/v1/rooms/{room_id}/events"): READER,
    ("post", "/api/v1/rooms/{room_id}/read"): READER | BODY,
    ("post", "/api/v1/rooms/{room_id}/join"): READER,
    ("post", "/api/v1/rooms/{room_id}/messages"): READER | BODY | {409, 429, 503},
    ("get", "/api/v1/rooms/{room_id}/threads/{seq}"): READER,
    ("put", "/api/v1/rooms/{room_id}/messages/{seq}/reactions/{emoji}"): READER | {409},
    ("delete", "/api/v1/rooms/{room_id}/messages/{seq}/reactions/{emoji}"): READER,
    ("get", "/api/v1/rooms/{room_id}/pins"): READER,
    ("put", "/api/v1/rooms/{room_id}/pins/{seq}"): READER | {403, 409},
    ("delete", "/api/v1/rooms/{room_id}/pins/{seq}"): READER | {403},
    ("get", "/api/v1/users/me/rooms"): {401, 422},
    ("post", "/api/v1/rooms/{room_id}/threads/{seq}/read"): READER | BODY,
    ("get", "/api/v1/users/me/threads"): {401, 422},
    ("get", "/api/v1/users/me/mentions"): {401, 422},
    ("post", "/api/v1/files"): {400, 401, 413, 422, 429},
    ("get", "/api/v1/files/{file_id}"): {401, 404, 422},
    ("get", "/api/v1/files/{file_id}/content"): {401, 404, 416, 422},
    ("get", "/api/v1/files/{file_id}/thumbnail"): {401, 404, 422},
    ("get", "/api/v1/users"): {401, 422, 429},
    ("post", "/api/v1/dms"): BODY | {401, 404, 429},
    ("get", "/api/v1/search"): {401, 422, 429, 503},
    ("get", "/api/v1/rooms/{room_id}/presence"): READER,
    ("get", "/healthz"): set(),
    ("get", "/readyz"): {503},
    ("get", "/metrics"): set(),
}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path: Path = tmp_path_factory.mktemp("openapi") / "unused.db"
    return create_app(make_settings(f"sqlite+aiosqlite:///{path}")).openapi()


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method, path): op for path, item in document["paths"].items() for method, op in item.items()}


def _schema(document: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    ref: str = response["content"]["application/json"]["schema"]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_every_operation_declares_exactly_the_errors_it_can_answer(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert set(operations) == set(EXPECTED_ERRORS)
    for key, op in operations.items():
        declared = {int(status) for status in op["responses"] if int(status) >= 400}
        assert declared == EXPECTED_ERRORS[key], key


def test_errors_declare_the_detail_body(document: dict[str, Any]) -> None:
    for key, op in _operations(document).items():
        for status, response in op["responses"].items():
            if int(status) < 400 or key == ("get", "/readyz"):
                continue
            schema = _schema(document, response)
            assert schema["required"] == ["detail"], (key, status)
            detail = schema["properties"]["detail"]
            if status == "422":
                # The shape service/errors.py answers: no `input` echo, no `ctx`.
                issue = document["components"]["schemas"][detail["items"]["$ref"].rsplit("/", 1)[1]]
                assert detail["type"] == "array"
                assert set(issue["properties"]) == set(issue["required"]) == {"type", "loc", "msg"}, key
            elif "anyOf" in detail:  # a code a client acts on, or words (CodedErrorOut in service/errors.py)
                coded = document["components"]["schemas"]["CodedDetail"]
                assert detail["anyOf"] == [{"$ref": "#/components/schemas/CodedDetail"}, {"type": "string"}], key
                assert set(coded["properties"]) == set(coded["required"]) == {"code", "message"}
            else:
                assert detail["type"] == "string", (key, status)


def test_401_declares_www_authenticate_and_429_retry_after(document: dict[str, Any]) -> None:
    operations = _operations(document)
    for key, op in operations.items():
        if "401" in op["responses"]:
            assert "WWW-Authenticate" in op["responses"]["401"]["headers"], key
    throttled = operations[("post", "/api/v1/auth/token")]["responses"]["429"]
    assert throttled["headers"]["Retry-After"]["schema"] == {"type": "integer"}


def test_metrics_is_declared_as_text(document: dict[str, Any]) -> None:
    ok = _operations(document)[("get", "/metrics")]["responses"]["200"]
    assert list(ok["content"]) == ["text/plain"]


def test_request_bodies_offer_null_only_where_it_is_accepted(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    # PATCH refuses null (leave a field out to keep it), so the schema must not offer it.
    for field in ("name", "description"):
        assert schemas["RoomUpdate"]["properties"][field]["type"] == "string"
    assert schemas["RoomCreate"]["properties"]["private"]["type"] == "boolean"
