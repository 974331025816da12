"""The command line, run as operators run it: as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, ServiceProcess, service_env

CLI = [sys.executable, "-m", "service"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return service_env(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")


def run(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + args, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120)


def test_db_commands(env: dict[str, str], tmp_path: Path) -> None:
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0
    current = run(["db", "current"], env, tmp_path)
    assert current.returncode == 0 and "0001" in current.stdout
    history = run(["db", "history"], env, tmp_path)
    assert history.returncode == 0 and "initial schema" in history.stdout
    assert run(["db", "downgrade", "base"], env, tmp_path).returncode == 0
    assert "0001" not in run(["db", "current"], env, tmp_path).stdout
    bad = run(["db", "upgrade", "nonexistent"], env, tmp_path)
    assert bad.returncode != 0 and "error:" in bad.stderr


def test_user_create_from_stdin_and_duplicate_fails(env: dict[str, str], tmp_path: Path) -> None:
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0
    done = run(["user", "create", "root", "--admin", "--password-stdin"], env, tmp_path, stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "admin" in done.stdout
    again = run(["user", "create", "ROOT", "--password-stdin"], env, tmp_path, stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "username already taken" in again.stderr
    weak = run(["user", "create", "bob", "--password-stdin"], env, tmp_path, stdin="short\n")
    assert weak.returncode == 2 and "password" in weak.stderr


def test_user_create_on_unmigrated_database_says_what_to_do(env: dict[str, str], tmp_path: Path) -> None:
    done = run(["user", "create", "root", "--password-stdin"], env, tmp_path, stdin=PASSWORD + "\n")
    assert done.returncode == 2 and "chat-service db upgrade" in done.stderr


def test_serve_refuses_workers_without_redis(env: dict[str, str], tmp_path: Path) -> None:
    done = run(["serve", "--workers", "2"], env, tmp_path)
    assert done.returncode == 2 and "CHAT_REDIS_URL" in done.stderr


def test_serve_refuses_a_short_secret_key(env: dict[str, str], tmp_path: Path) -> None:
    done = run(["serve"], {**env, "CHAT_SECRET_KEY": "short"}, tmp_path)
    assert done.returncode == 2 and "CHAT_SECRET_KEY" in done.stderr and "32 bytes" in done.stderr


@pytest.fixture
def served(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`chat-service serve` with no setup but a working directory (the key is generated)."""
    env = {k: v for k, v in env.items() if k != "CHAT_SECRET_KEY"}
    with ServiceProcess(env, tmp_path) as service:
        yield service.base


def test_serve_migrates_and_answers_register_token_me(served: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=f"{served}/api/v1") as http:
        assert http.post("/auth/register", json={"username": "alice", "password": PASSWORD}).status_code == 201
        token = http.post("/auth/token", data={"username": "alice", "password": PASSWORD}).json()
        me = http.get("/users/me", headers={"Authorization": f"Bearer {token['access_token']}"})
        assert me.status_code == 200 and me.json()["username"] == "alice"
    key_file = tmp_path / "cli.db.secret"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
