"""The command line, run as operators run it: as a subprocess."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from service.migrate import database_revision, head_revision, migrations_dir, upgrade
from tests.conftest import PASSWORD, REDIS_URL, ServiceProcess, free_port, make_settings, service_env

pytestmark = pytest.mark.slow

HEAD = head_revision()
BEFORE_HEAD = ScriptDirectory(str(migrations_dir())).get_revision(HEAD).down_revision

CLI = [sys.executable, "-m", "service"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return service_env(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")


@pytest.fixture
def upgraded(tmp_path: Path, migrated_template: Path) -> None:
    """The database of `env` at head: a copy of the one the migrations built once for the run."""
    shutil.copyfile(migrated_template, tmp_path / "cli.db")


def revision(tmp_path: Path) -> str | None:
    """The schema's revision in the database of `env`, read without a command's process."""
    return database_revision(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"))


def run(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a script runs it: without a terminal, stdin empty unless given."""
    return subprocess.run(
        CLI + args,
        env=env,
        cwd=cwd,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_error(done: subprocess.CompletedProcess[str]) -> str:
    """The command failed with one `error:` line on stderr, and no traceback."""
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode != 0 and len(errors) == 1, (done.returncode, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return errors[0]


def test_db_commands(env: dict[str, str], tmp_path: Path) -> None:
    upgraded = run(["db", "upgrade", BEFORE_HEAD], env, tmp_path)
    assert upgraded.returncode == 0 and f"upgraded the database from revision none to {BEFORE_HEAD}" in upgraded.stdout
    behind = run(["db", "current"], env, tmp_path)
    assert behind.returncode == 0 and f"revision {BEFORE_HEAD}; this version needs {HEAD}" in behind.stdout
    upgraded = run(["db", "upgrade"], env, tmp_path)
    assert upgraded.returncode == 0 and f"from revision {BEFORE_HEAD} to {HEAD}" in upgraded.stdout
    again = run(["db", "upgrade"], env, tmp_path)
    assert again.returncode == 0 and f"already at revision {HEAD}" in again.stdout
    current = run(["db", "current"], env, tmp_path)
    assert current.returncode == 0 and f"{HEAD} (head): up to date" in current.stdout
    history = run(["db", "history"], env, tmp_path)
    assert history.returncode == 0 and "initial schema" in history.stdout
    bad = run(["db", "upgrade", "nonexistent"], env, tmp_path)
    assert bad.returncode != 0 and "error:" in bad.stderr
    assert revision(tmp_path) == HEAD


def test_downgrade_takes_a_relative_revision_and_asks_before_dropping(
    env: dict[str, str], tmp_path: Path, upgraded: None
) -> None:
    done = run(["db", "downgrade", "-1", "--yes"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"downgraded the database from revision {HEAD} to {BEFORE_HEAD}" in done.stdout
    for target in (["base"], ["-1"]):
        refused = run(["db", "downgrade", *target], env, tmp_path)
        assert refused.returncode == 2 and "--yes" in one_error(refused), refused.stderr
        assert revision(tmp_path) == BEFORE_HEAD
    done = run(["db", "downgrade", "base", "--yes"], env, tmp_path)
    assert done.returncode == 0 and f"from revision {BEFORE_HEAD} to none" in done.stdout, done.stderr
    assert "no schema yet" in run(["db", "current"], env, tmp_path).stdout


def test_first_admin_recipe_works_in_a_fresh_directory_and_a_duplicate_fails(
    env: dict[str, str], tmp_path: Path
) -> None:
    done = run(["user", "create", "admin", "--admin", "--password-stdin"], env, tmp_path, stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "created user 'admin'" in done.stdout and "admin)" in done.stdout
    assert revision(tmp_path) == HEAD
    # Now on a database already at head: nothing to migrate first.
    again = run(["user", "create", "ADMIN", "--password-stdin"], env, tmp_path, stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "username already taken" in again.stderr
    weak = run(["user", "create", "bob", "--password-stdin"], env, tmp_path, stdin="short\n")
    assert weak.returncode == 2 and "password" in weak.stderr


def test_user_create_without_auto_migrate_says_what_to_do_and_leaves_no_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    env = {**env, "CHAT_AUTO_MIGRATE": "false"}
    done = run(["user", "create", "root", "--password-stdin"], env, tmp_path, stdin=PASSWORD + "\n")
    assert done.returncode == 2 and "chat-service db upgrade" in done.stderr
    assert not (tmp_path / "cli.db").exists()


def test_db_current_says_when_there_is_no_schema(env: dict[str, str], tmp_path: Path) -> None:
    missing = run(["db", "current"], env, tmp_path)
    assert missing.returncode == 0 and "no database" in missing.stdout
    assert not (tmp_path / "cli.db").exists()
    (tmp_path / "cli.db").touch()
    empty = run(["db", "current"], env, tmp_path)
    assert empty.returncode == 0 and "no schema yet" in empty.stdout and "chat-service db upgrade" in empty.stdout


def test_help_shows_flags_without_type_placeholders(env: dict[str, str], tmp_path: Path) -> None:
    for command in (["user", "create", "--help"], ["serve", "--help"], ["db", "--help"]):
        done = run(command, env, tmp_path)
        assert done.returncode == 0 and "--help" in done.stdout
        assert "<bool>" not in done.stdout, done.stdout


def test_serve_refuses_workers_without_redis(env: dict[str, str], tmp_path: Path) -> None:
    done = run(["serve", "--workers", "2"], env, tmp_path)
    assert done.returncode == 2 and "CHAT_REDIS_URL" in done.stderr


def test_serve_refuses_a_short_secret_key(env: dict[str, str], tmp_path: Path) -> None:
    done = run(["serve"], {**env, "CHAT_SECRET_KEY": "short"}, tmp_path)
    assert done.returncode == 2 and "CHAT_SECRET_KEY" in done.stderr and "32 bytes" in done.stderr


def answers_register_token_me(base: str) -> None:
    with httpx.Client(base_url=f"{base}/api/v1") as http:
        assert http.post("/auth/register", json={"username": "alice", "password": PASSWORD}).status_code == 201
        token = http.post("/auth/token", data={"username": "alice", "password": PASSWORD}).json()
        me = http.get("/users/me", headers={"Authorization": f"Bearer {token['access_token']}"})
        assert me.status_code == 200 and me.json()["username"] == "alice"


def test_serve_migrates_answers_and_says_what_it_runs_on_once(env: dict[str, str], tmp_path: Path) -> None:
    """`chat-service serve` with no setup but a working directory (the key is generated), then again."""
    env = {k: v for k, v in env.items() if k != "CHAT_SECRET_KEY"}
    for run_number in (1, 2):
        with ServiceProcess(env, tmp_path) as service:
            if run_number == 1:
                answers_register_token_me(service.base)
                key_file = tmp_path / "cli.db.secret"
                assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
            service.stop()
            lines = service.output().splitlines()

        def one(prefix: str, lines: list[str] = lines) -> str:
            found = [line for line in lines if prefix in line]
            assert len(found) == 1, (prefix, lines)
            return found[0]

        assert one("database: ").endswith(f"database: sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
        assert "in-process" in one("broker: ")
        assert one("files: ").endswith(f"files: the directory {tmp_path / 'files'}")
        assert not [line for line in lines if "must share" in line]  # one instance: nothing to share
        key = one("signing key: ")
        migrations = one("migrations: ")
        if run_number == 1:
            assert "generated into" in key and f"from revision none to {HEAD}" in migrations
        else:
            assert "read from" in key and f"already at revision {HEAD}" in migrations


def test_startup_log_hides_database_and_redis_passwords(tmp_path: Path) -> None:
    env = service_env(
        "postgresql+asyncpg://chat:hunter2secret@127.0.0.1:1/chat",
        CHAT_REDIS_URL="redis://:redissecret@127.0.0.1:1/0",
        CHAT_AUTO_MIGRATE="false",
    )
    done = subprocess.run(CLI + ["serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert "database: postgresql+asyncpg://chat:***@127.0.0.1:1/chat" in output, output
    assert "broker: Redis at redis://:***@127.0.0.1:1/0" in output, output
    assert "hunter2secret" not in output and "redissecret" not in output


def test_downgrade_from_a_terminal_asks_first(env: dict[str, str], tmp_path: Path, upgraded: None) -> None:
    for answer, code, state in (("n", 1, HEAD), ("y", 0, None)):
        primary, secondary = pty.openpty()
        try:
            os.write(primary, f"{answer}\n".encode())  # typed ahead; the prompt reads it
            done = subprocess.run(
                [*CLI, "db", "downgrade", "base"],
                env=env,
                cwd=tmp_path,
                stdin=secondary,
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            os.close(primary)
            os.close(secondary)
        assert done.returncode == code and "drops every table" in done.stdout, (answer, done.stdout, done.stderr)
        assert revision(tmp_path) == state, answer


def test_serve_with_redis_down_fails_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    done = run(["serve", "--port", str(free_port())], {**env, "CHAT_REDIS_URL": "redis://127.0.0.1:1/0"}, tmp_path)
    assert "Redis at redis://127.0.0.1:1/0" in one_error(done)


def test_serve_with_redis_and_a_local_files_directory_warns_that_instances_must_share_it(
    env: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    env = {**env, "CHAT_REDIS_URL": REDIS_URL, "CHAT_REDIS_PREFIX": redis_prefix}
    with ServiceProcess(env, tmp_path) as service:
        service.stop()
    warnings = [line for line in service.output().splitlines() if "must share" in line]
    assert len(warnings) == 1 and warnings[0].startswith("WARNING"), service.output()
    assert str(tmp_path / "files") in warnings[0] and "CHAT_FILES_URL=s3://" in warnings[0]


def test_serve_with_a_files_url_it_cannot_use_fails_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    done = run(["serve", "--port", str(free_port())], {**env, "CHAT_FILES_URL": "ftp://host/files"}, tmp_path)
    error = one_error(done)
    assert done.returncode == 2 and "CHAT_FILES_URL" in error and "s3://bucket/prefix" in error, error


def test_serve_with_the_schema_behind_and_no_auto_migrate_fails_in_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    upgrade(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"), BEFORE_HEAD)
    done = run(["serve", "--port", str(free_port())], {**env, "CHAT_AUTO_MIGRATE": "false"}, tmp_path)
    error = one_error(done)
    assert f"revision {BEFORE_HEAD}, this version needs {HEAD}" in error and "chat-service db upgrade" in error


def test_a_database_url_without_an_async_driver_says_which_to_use(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "CHAT_DATABASE_URL": "postgresql://chat:hunter2secret@127.0.0.1:1/chat"}
    for command in (["serve"], ["db", "upgrade"], ["db", "current"]):
        done = run(command, env, tmp_path)
        error = one_error(done)
        assert done.returncode == 2 and "CHAT_DATABASE_URL" in error and "postgresql+asyncpg://" in error, error
        assert "psycopg" not in done.stderr and "hunter2secret" not in done.stderr


def test_user_create_without_a_terminal_names_password_stdin(env: dict[str, str], tmp_path: Path) -> None:
    done = run(["user", "create", "root"], env, tmp_path)
    assert "--password-stdin" in one_error(done) and "Aborted" not in done.stderr
    assert not (tmp_path / "cli.db").exists()
