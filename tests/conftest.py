from __future__ import annotations

import asyncio
import base64
import gc
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import fields
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from service import migrate
from service.config import Settings
from service.main import State, create_app

TEST_KEY = "k" * 48
# Tests create rooms and search far faster than people do; the limits' own tests set them low.
GENEROUS_LIMITS = {
    "room_create_limit_per_user": "100000/hour",
    "dm_create_limit_per_user": "100000/hour",
    "search_limit_per_user": "100000/hour",
    "user_lookup_limit_per_user": "100000/hour",
    # A wall-clock bound: on a loaded machine even a search of an empty database has
    # gone past the 2 s default. tests/search/test_timeout.py sets its own.
    "search_timeout_ms": "60000",
}
PASSWORD = "correct horse battery"


# Files of settings on PostgreSQL would default to ./files: each gets its own directory here instead.
FILES_ROOT = Path(tempfile.mkdtemp(prefix="chat-test-files-"))


# argon2id at the production floor costs about 40 ms a password, and the apps that tests run in
# process hash thousands of them. Their settings hash at the least cost argon2 allows instead: a
# copy made with `model_copy` skips the validation that refuses it (tests/auth/test_hashing_cost.py).
# The tests of logins and hashing themselves (tests/auth) ask for `production_hashing`.
CHEAP_HASHING = {"argon2_memory_kib": 8, "argon2_time_cost": 1}


def make_settings(database_url: str, *, production_hashing: bool = False, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": database_url, "secret_key": TEST_KEY, **GENEROUS_LIMITS}
    if not database_url.startswith("sqlite"):
        values["files_url"] = str(FILES_ROOT / uuid.uuid4().hex)
    values.update(overrides)
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    if production_hashing:
        return settings
    return settings.model_copy(update={k: v for k, v in CHEAP_HASHING.items() if k not in overrides})


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file built once by the real migrations; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(make_settings(f"sqlite+aiosqlite:///{path}"))
    return path


# Real servers for the scaled-out backend; each test run makes its own database
# and Redis prefix and removes them afterwards.
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TABLES = "users, rooms, room_members, messages, refresh_tokens, revoked_access_tokens"


def require_service(name: str, error: Exception) -> None:
    """Skip without the server; under CI its absence is a failure."""
    reason = f"{name} is not reachable ({type(error).__name__}: {error})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI requires it")
    pytest.skip(reason)


def _pg(url: str, *statements: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A uniquely named PostgreSQL database, migrated by the real migrations."""
    name = f"chat_test_{uuid.uuid4().hex[:12]}"
    try:
        _pg(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"')
    except (OSError, Exception) as exc:  # noqa: BLE001 - any failure means "not available"
        require_service("PostgreSQL", exc)
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        migrate.upgrade(make_settings(url))
        yield url
    finally:
        _pg(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    """A unique key prefix on the real Redis; its keys are removed afterwards."""
    import redis

    prefix = f"chat-test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        client.close()
        require_service("Redis", exc)
    try:
        yield prefix
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_template: Path) -> str:
    """Each database-facing test runs on SQLite and on PostgreSQL."""
    return database_for(request, tmp_path, migrated_template)


def database_for(request: pytest.FixtureRequest, tmp_path: Path, migrated_template: Path) -> str:
    """The database of a `database_url` fixture's param: a copy of the migrated SQLite
    template, or the run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        path = tmp_path / "chat.db"
        shutil.copyfile(migrated_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _pg(url.replace("+asyncpg", ""), f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def state_of(app: FastAPI) -> State:
    """What the lifespan built, each thing as the app keeps it now."""
    return State(**{field.name: getattr(app.state, field.name) for field in fields(State)})


@pytest.fixture
def state(app: FastAPI) -> State:
    return state_of(app)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        yield client


class Api:
    """Small helpers for the REST calls most tests start with."""

    def __init__(self, client: httpx.AsyncClient, state: State) -> None:
        self.client = client
        self.state = state

    async def register(self, username: str, password: str = PASSWORD) -> dict:
        r = await self.client.post("/auth/register", json={"username": username, "password": password})
        assert r.status_code == 201, r.text
        return r.json()

    async def login(self, username: str, password: str = PASSWORD) -> dict:
        r = await self.client.post("/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return r.json()

    async def user(self, username: str, *, admin: bool = False) -> dict[str, str]:
        """Create a user and return bearer headers for them."""
        if admin:
            from service.auth.service import create_user

            async with self.state.sessionmaker() as session, session.begin():
                await create_user(session, self.state.hasher, username, PASSWORD, is_admin=True)
        else:
            await self.register(username)
        token = (await self.login(username))["access_token"]
        return {"Authorization": f"Bearer {token}"}

    async def room(self, headers: dict[str, str], name: str, **fields: object) -> dict:
        r = await self.client.post("/rooms", json={"name": name, **fields}, headers=headers)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture
def api(client: httpx.AsyncClient, state: State) -> Api:
    return Api(client, state)


def alg_none_token(claims: dict) -> str:
    """An unsigned JWT claiming alg "none"."""

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    """`chat-service serve` as a subprocess, its output in `log_path`."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str, port: int | None = None) -> None:
        self.env, self.cwd, self.args = env, cwd, args
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = cwd / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServiceProcess:
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--port", str(self.port), *self.args],
            env=self.env,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60  # imports and migrations, on a machine busy with other tests
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"server did not start:\n{self.output()}")
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._log.close()
        return code

    def output(self) -> str:
        return self.log_path.read_text()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and not self._log.closed:
            self.stop()


def service_env(database_url: str, **extra: str) -> dict[str, str]:
    # Processes started by the tests write the service's compiled modules for the next one to
    # read, even where the environment says not to: each would otherwise compile them again.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_") and k != "PYTHONDONTWRITEBYTECODE"}
    limits = {f"CHAT_{k.upper()}": v for k, v in GENEROUS_LIMITS.items()}
    return {**clean, "CHAT_DATABASE_URL": database_url, "CHAT_SECRET_KEY": TEST_KEY, **limits, **extra}


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish() -> None:
    shutil.rmtree(FILES_ROOT, ignore_errors=True)
    # The interpreter's last collection walks every object the run left (over 1 GB
    # after the whole suite) and took 1.5 minutes; frozen objects are skipped.
    gc.freeze()
