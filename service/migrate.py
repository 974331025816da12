"""Alembic, driven with the service's settings (for `chat-service db` and `serve`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
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
    """Apply migrations; the revisions before and after."""
    before = database_revision(settings)
    command.upgrade(alembic_config(settings), revision)
    return before, database_revision(settings)


def downgrade(settings: Settings, revision: str) -> tuple[str | None, str | None]:
    before = database_revision(settings)
    command.downgrade(alembic_config(settings), revision)
    return before, database_revision(settings)


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
