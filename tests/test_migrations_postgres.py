from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from service import migrate
from tests.conftest import POSTGRES_ADMIN_URL, _pg, make_settings, require_service, service_env


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    name = f"chat_test_{uuid.uuid4().hex[:12]}"
    try:
        _pg(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001
        require_service("PostgreSQL", exc)
    base = POSTGRES_ADMIN_URL.rpartition("/")[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        _pg(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_round_trip_and_no_drift_on_postgresql(empty_postgres: str) -> None:
    settings = make_settings(empty_postgres)
    migrate.upgrade(settings)
    command.check(migrate.alembic_config(settings))
    migrate.downgrade(settings, "base")
    migrate.upgrade(settings)


def test_instances_migrating_at_once_are_safe(empty_postgres: str, tmp_path: Path) -> None:
    env = service_env(empty_postgres)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "service", "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    # Each says what it did itself: one migrated, the others found the schema current.
    head = migrate.head_revision()
    said = sorted(out.strip() for out, _ in outputs)
    assert said == [f"the database is already at revision {head}"] * 3 + [
        f"upgraded the database from revision none to {head}"
    ], outputs
    current = subprocess.run(
        [sys.executable, "-m", "service", "db", "current"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert f"{migrate.head_revision()} (head)" in current.stdout


def test_messages_are_vacuumed_after_inserts_not_a_share_of_the_table(empty_postgres: str) -> None:
    # Unread counts read the index alone only where vacuum has been (migration 0005).
    settings = make_settings(empty_postgres)
    migrate.upgrade(settings)
    admin = empty_postgres.replace("postgresql+asyncpg://", "postgresql://", 1)
    assert sorted(_reloptions(admin)) == [
        "autovacuum_vacuum_insert_scale_factor=0",
        "autovacuum_vacuum_insert_threshold=10000",
    ]
    migrate.downgrade(settings, "0004")
    assert _reloptions(admin) is None


def _reloptions(url: str) -> list[str] | None:
    import asyncpg

    async def run() -> list[str] | None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            found: list[str] | None = await conn.fetchval("SELECT reloptions FROM pg_class WHERE relname = 'messages'")
            return found
        finally:
            await conn.close()

    return asyncio.run(run())
