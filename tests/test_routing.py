"""Which part of the app answers a request: API routes first (with their own 405), then the web client."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service.apidocs.policy import DOCS_POLICY
from service.main import create_app
from service.web import SECURITY_HEADERS
from tests.conftest import make_settings


@pytest.fixture
async def http(tmp_path: Path, migrated_template: Path) -> AsyncIterator[httpx.AsyncClient]:
    shutil.copyfile(migrated_template, tmp_path / "chat.db")
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield client


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/users/me", "GET"),
        ("DELETE", "/healthz", "GET"),
        ("POST", "/metrics", "GET"),
        ("GET", "/api/v1/auth/token", "POST"),
        ("PUT", "/api/v1/rooms/1", "DELETE, GET, PATCH"),
        ("DELETE", "/api/v1/rooms", "GET, POST"),
        ("GET", "/api/v1/rooms/1/members/2", "DELETE"),
    ],
)
async def test_unknown_method_on_an_api_path_is_405_with_every_allowed_method(
    http: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    r = await http.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.json() == {"detail": "Method Not Allowed"}


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_unknown_api_path_is_404_whatever_the_method(http: httpx.AsyncClient, method: str) -> None:
    r = await http.request(method, "/api/v1/nowhere")
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}


async def test_web_client_files_are_served_with_their_security_headers(http: httpx.AsyncClient) -> None:
    for path, content_type in (("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css")):
        r = await http.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith(content_type), path
        for name, value in SECURITY_HEADERS.items():
            assert r.headers[name] == value, (path, name)
    head = await http.head("/")
    assert (
        head.status_code == 200
        and head.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    )
    assert (await http.get("/missing.js")).status_code == 404
    # /docs needs inline script: it has a policy of its own, not the client's.
    docs = await http.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-security-policy"] == DOCS_POLICY


async def test_web_client_files_are_read_only(http: httpx.AsyncClient) -> None:
    for path in ("/", "/app.js"):
        r = await http.post(path)
        assert r.status_code == 405, path
        assert r.headers["allow"] == "GET, HEAD", path
