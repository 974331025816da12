from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.config import ConfigError, Settings


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_secret_key_is_generated_once_beside_the_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'chat.db'}"
    first = _settings(database_url=url).resolve_secret_key()
    key_file = tmp_path / "data" / "chat.db.secret"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert _settings(database_url=url).resolve_secret_key() == first


def test_short_secret_key_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        _settings(secret_key="too-short")


def test_given_secret_key_is_used_as_is(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    assert _settings(database_url=url, secret_key="s" * 32).resolve_secret_key() == "s" * 32
    assert not (tmp_path / "chat.db.secret").exists()


def test_non_file_database_requires_a_secret_key() -> None:
    with pytest.raises(ConfigError, match="CHAT_SECRET_KEY is required"):
        _settings(database_url="postgresql+asyncpg://db/chat").resolve_secret_key()


def test_database_url_must_name_an_async_driver() -> None:
    for url in ("postgresql://db/chat", "postgresql+psycopg://db/chat", "sqlite:///chat.db", "mysql+aiomysql://db/x"):
        with pytest.raises(ValidationError, match=r"postgresql\+asyncpg://.* or sqlite\+aiosqlite://"):
            _settings(database_url=url)
    for url in ("postgresql+asyncpg://db/chat", "sqlite+aiosqlite:///chat.db", "sqlite+aiosqlite://"):
        assert _settings(database_url=url).database_url == url


def test_environment_and_dotenv_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("CHAT_MAX_REPLAY=77\nCHAT_ALLOWED_ORIGINS=https://a.example, https://b.example/\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHAT_HISTORY_ON_CONNECT", "5")
    settings = Settings()
    assert settings.max_replay == 77 and settings.history_on_connect == 5
    assert settings.origins == {"https://a.example", "https://b.example"}


def test_argon2_parameters_cannot_go_below_owasp_minimum() -> None:
    with pytest.raises(ValidationError):
        _settings(argon2_memory_kib=1024)
    with pytest.raises(ValidationError):
        _settings(argon2_time_cost=1)


def test_env_example_lists_every_setting() -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    names = {
        line.lstrip("# ").split("=", 1)[0]
        for line in example.read_text().splitlines()
        if line.lstrip("# ").startswith("CHAT_") and "=" in line
    }
    assert names == {f"CHAT_{field.upper()}" for field in Settings.model_fields}
