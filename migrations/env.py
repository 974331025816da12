"""Alembic environment: async engine, URL from the service's settings."""

from __future__ import annotations

import asyncio
import logging.config

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from service.config import get_settings
from service.models import metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    # The CLI and tests hand over their own settings; plain `alembic` reads the environment.
    settings = config.attributes.get("settings") or get_settings()
    return settings.database_url


# The search index lives outside the models (migration 0004): its engine-specific
# tables, column and index are not the models' to compare.
SEARCH_COLUMN, SEARCH_INDEX, FTS_TABLES = "search", "ix_messages_search", "messages_fts"


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    if not reflected or name is None:
        return True
    return not (name in (SEARCH_COLUMN, SEARCH_INDEX) or (type_ == "table" and name.startswith(FTS_TABLES)))


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    dialect = connection.dialect.name if connection is not None else url.split(":", 1)[0]
    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        render_as_batch=dialect.startswith("sqlite"),
        compare_type=True,
        include_object=_include,
        literal_binds=connection is None,
        # service/migrate.py reports the steps this process ran.
        on_version_apply=config.attributes.get("on_version_apply", ()),
    )


def run_migrations_offline() -> None:
    _configure(url=_database_url())
    with context.begin_transaction():
        context.run_migrations()


# Several instances starting together each migrate; on PostgreSQL they queue on
# this lock, and all but the first then find nothing to do.
MIGRATION_LOCK_ID = 7_240_310


def _run_sync(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(_database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
