from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.config import Settings

PRIMARY = "postgresql+asyncpg://postgres@127.0.0.1:5432/chat"


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_replica_urls_are_a_comma_separated_list() -> None:
    settings = _settings(
        database_url=PRIMARY,
        database_replica_urls=" postgresql+asyncpg://a:5433/chat , postgresql+asyncpg://b:5434/chat,",
    )
    assert settings.replica_urls == ["postgresql+asyncpg://a:5433/chat", "postgresql+asyncpg://b:5434/chat"]


def test_no_replicas_by_default() -> None:
    assert _settings().replica_urls == []
    assert _settings().replica_max_lag_seconds == 5.0


def test_a_replica_must_name_the_async_postgresql_driver() -> None:
    with pytest.raises(ValidationError, match="postgresql\\+asyncpg"):
        _settings(database_url=PRIMARY, database_replica_urls="postgresql://a:5433/chat")


def test_replicas_need_a_postgresql_primary() -> None:
    with pytest.raises(ValidationError, match="PostgreSQL primary"):
        _settings(database_replica_urls="postgresql+asyncpg://a:5433/chat")
