"""Alembic, driven with the service's settings (for `chat-service db` and `serve`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from service.config import ConfigError, Settings

_PACKAGE_DIR = Path(__file__).resolve().parent


def migrations_dir() -> Path:
    # A wheel ships them inside the package; a source checkout keeps them at the top.
    for candidate in (_PACKAGE_DIR / "migrations", _PACKAGE_DIR.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the migrations directory is missing from this installation")


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["settings"] = settings
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply migrations; the revisions before and after what this process applied."""
    return _migrate(settings, command.upgrade, revision)


def downgrade(settings: Settings, revision: str) -> tuple[str | None, str | None]:
    """Revert migrations; the revisions before and after what this process reverted."""
    return _migrate(settings, command.downgrade, revision)


def _migrate(settings: Settings, run: Callable[[Config, str], None], revision: str) -> tuple[str | None, str | None]:
    # The revisions of the steps this process ran, not ones read around them:
    # instances starting together all read the old revision, but only the first to
    # take the lock (migrations/env.py) migrates; the others find nothing to do.
    moves: list[tuple[str | None, str | None]] = []

    def applied(*, step: MigrationInfo, heads: set[str], **_: Any) -> None:
        moves.append((_one(step.source_revision_ids), _one(tuple(heads))))

    cfg = alembic_config(settings)
    cfg.attributes["on_version_apply"] = applied
    run(cfg, revision)
    if not moves:
        current = database_revision(settings)
        return current, current
    return moves[0][0], moves[-1][1]


def _one(revisions: tuple[str, ...]) -> str | None:
    return revisions[0] if revisions else None


def require_current(settings: Settings) -> None:
    """`ensure_current`, from outside an event loop."""
    from service.db import create_engine

    async def check() -> None:
        engine = create_engine(settings.database_url)
        try:
            await ensure_current(engine)
        finally:
            await engine.dispose()

    asyncio.run(check())


def database_revision(settings: Settings) -> str | None:
    """The schema's revision; None for a database no migration has touched."""
    from service.db import create_engine

    async def read() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def history(settings: Settings) -> None:
    command.history(alembic_config(settings), verbose=True)


def head_revision() -> str | None:
    return ScriptDirectory(str(migrations_dir())).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def ensure_current(engine: AsyncEngine) -> None:
    """Refuse to run against a schema this version was not written for."""
    head = head_revision()
    found = await current_revision(engine)
    if found != head:
        raise ConfigError(
            f"the database schema is at revision {found or 'none'}, this version needs {head}: "
            "run `chat-service db upgrade`, or `chat-service serve` with CHAT_AUTO_MIGRATE=true"
        )
