"""Settings, read from CHAT_* environment variables and `.env`."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

import limits
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

MIN_SECRET_BYTES = 32
# OWASP's minimum for argon2id: m = 19 MiB, t = 2, p = 1.
MIN_ARGON2_MEMORY_KIB = 19 * 1024
MIN_ARGON2_TIME_COST = 2


ASYNC_URLS = "use postgresql+asyncpg://user:password@host/database or sqlite+aiosqlite:///path/to/chat.db"


class ConfigError(RuntimeError):
    """A setting that cannot work; the message says how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHAT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: str = "sqlite+aiosqlite:///./chat.db"
    redis_url: str | None = None
    # Prefix of every Redis channel: instances sharing one prefix form one service.
    redis_prefix: str = Field(default="chat", min_length=1, max_length=64)
    secret_key: SecretStr | None = None

    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=14, ge=1)

    history_on_connect: int = Field(default=50, ge=0)
    max_replay: int = Field(default=1000, ge=1)
    max_message_chars: int = Field(default=4000, ge=1)
    ws_max_frame_bytes: int = Field(default=65536, ge=1024)
    rate_per_second: float = Field(default=10.0, gt=0)
    rate_burst: int = Field(default=20, ge=1)
    send_queue: int = Field(default=1000, ge=1)
    # Bytes of frames waiting for one socket, replay included; beyond it 1013.
    send_queue_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    # A socket (or an HTTP response) that reads nothing this long while output
    # waits for it is closed: 1013 "slow consumer" for a socket.
    send_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Messages stored per transaction at most (group commit); 1: one commit per message.
    store_batch: int = Field(default=256, ge=1)
    # Larger request bodies are refused with 413 before they are read whole.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # A request's headers and body must arrive within this; idle keep-alive
    # connections close after http_keep_alive_seconds.
    http_request_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    http_keep_alive_seconds: float = Field(default=5.0, gt=0, le=300)
    allowed_origins: str = ""
    max_connections: int = Field(default=10000, ge=1)
    max_connections_per_user: int = Field(default=20, ge=1)
    # Rooms subscribed at once on one /ws socket.
    max_rooms_per_socket: int = Field(default=500, ge=1)
    # 0: authors may edit their messages for as long as they exist.
    edit_window_minutes: int = Field(default=0, ge=0, le=10**7)
    ws_compression: bool = False
    # The server pings each socket this often, and closes 1011 one whose pong has
    # not come this long after. 20 s suits NATs and proxies; each ping costs
    # an idle socket a few microseconds (bench/run.py --scenarios quiet).
    ws_ping_seconds: float = Field(default=20.0, ge=1, le=3600)
    auto_migrate: bool = True
    # full: a commit (so an echo) survives power loss; normal: faster, survives
    # process crashes but may lose the last commits on power loss.
    sqlite_synchronous: Literal["full", "normal"] = "full"
    # With Redis: presence entries expire this long after their instance stops
    # refreshing them (every ttl / 4), so a crashed instance's users leave within
    # 1.25 × ttl; at most 24 keeps that within 30 s.
    presence_ttl_seconds: float = Field(default=20.0, ge=2, le=24)
    # Every open room feed is checked against the database once in this long, the
    # bound for a lost publish that nothing else reveals (realtime/lost_publishes.py).
    lost_publish_sweep_seconds: float = Field(default=60.0, ge=1, le=3600)

    argon2_memory_kib: int = Field(default=MIN_ARGON2_MEMORY_KIB, ge=MIN_ARGON2_MEMORY_KIB)
    argon2_time_cost: int = Field(default=MIN_ARGON2_TIME_COST, ge=MIN_ARGON2_TIME_COST)
    argon2_parallelism: int = Field(default=1, ge=1)
    # Hashes run in threads; capping them leaves a core for the event loop.
    hash_concurrency: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) - 1), ge=1)
    # Failed logins allowed per moving window, in the notation of the `limits` library.
    # Per account: OWASP's "at most 10 failures per 15 minutes"; per address: several users behind one NAT.
    login_limit_per_account: str = "10/15 minutes"
    login_limit_per_address: str = "100/15 minutes"
    # Per-user limits in the same notation; over them, 429 with Retry-After.
    search_limit_per_user: str = "60/minute"
    room_create_limit_per_user: str = "30/hour"
    dm_create_limit_per_user: str = "60/hour"
    user_lookup_limit_per_user: str = "60/minute"
    # A search that cannot finish in this long is cancelled in the database: 503.
    search_timeout_ms: int = Field(default=2000, ge=10, le=600_000)

    # Files (docs/files.md): where their bytes live, `file://` or a path for a local
    # directory, `s3://bucket/prefix` for S3; unset, a directory `files` beside the
    # SQLite file (./files on PostgreSQL).
    files_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    max_file_bytes: int = Field(default=25 * 1024 * 1024, ge=1, le=5 * 1024**4)
    file_quota_bytes: int = Field(default=1024**3, ge=1)
    # Larger images are stored without width, height or thumbnail: decoding holds every pixel.
    max_image_pixels: int = Field(default=40_000_000, ge=1, le=1_000_000_000)
    # Files never attached to a message are removed after this long.
    file_orphan_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    file_upload_limit_per_user: str = "60/minute"

    # Read replicas of the PostgreSQL primary (docs/architecture.md, "Read
    # replicas"): comma-separated postgresql+asyncpg URLs; empty: every read on the primary.
    database_replica_urls: str = ""
    # A replica further behind the primary than this is skipped until it catches up.
    replica_max_lag_seconds: float = Field(default=5.0, gt=0, le=3600)

    @field_validator("secret_key", mode="before")
    @classmethod
    def _empty_key_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("secret_key")
    @classmethod
    def _key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"CHAT_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes; "
                'generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return value

    @field_validator(
        "login_limit_per_account",
        "login_limit_per_address",
        "search_limit_per_user",
        "room_create_limit_per_user",
        "dm_create_limit_per_user",
        "user_lookup_limit_per_user",
        "file_upload_limit_per_user",
    )
    @classmethod
    def _one_rate_limit(cls, value: str) -> str:
        try:
            items = limits.parse_many(value)
        except ValueError:
            items = []
        if len(items) != 1:
            raise ValueError(f"{value!r} is not one rate limit such as '10/15 minutes' (count / period)")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # The service talks to its database through asyncio drivers only; a plain
        # postgresql:// would fail later with "No module named 'psycopg'".
        try:
            url = make_url(value)
        except Exception:  # noqa: BLE001 - whatever the parser disliked, the answer is the same
            raise ValueError(f"is not a database URL; {ASYNC_URLS}") from None
        if (url.get_backend_name(), url.get_driver_name()) not in (("postgresql", "asyncpg"), ("sqlite", "aiosqlite")):
            raise ValueError(f"must name an async driver, not {url.drivername}://; {ASYNC_URLS}")
        return value

    @field_validator("database_replica_urls")
    @classmethod
    def _replicas_async_postgresql(cls, value: str) -> str:
        for url in _listed(value):
            try:
                parsed = make_url(url)
            except Exception:  # noqa: BLE001 - whatever the parser disliked, the answer is the same
                raise ValueError(f"{url!r} is not a database URL; use postgresql+asyncpg://...") from None
            if (parsed.get_backend_name(), parsed.get_driver_name()) != ("postgresql", "asyncpg"):
                raise ValueError(f"a replica must be postgresql+asyncpg://..., not {parsed.drivername}://")
        return value

    @model_validator(mode="after")
    def _replicas_of_postgresql(self) -> Settings:
        if self.replica_urls and self.is_sqlite:
            raise ValueError("read replicas need a PostgreSQL primary (CHAT_DATABASE_URL)")
        return self

    @field_validator("files_url", "s3_endpoint_url", "s3_region", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _empty_redis_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip())

    @property
    def replica_urls(self) -> list[str]:
        return _listed(self.database_replica_urls)

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None for other databases and in-memory SQLite."""
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database)

    def files_location(self) -> str:
        """CHAT_FILES_URL, or the default directory: `files` beside the SQLite file, else ./files."""
        if self.files_url is not None:
            return self.files_url
        db_path = self.sqlite_path()
        directory = db_path.with_name("files") if db_path is not None else Path("files")
        return str(directory.resolve())

    def resolve_secret_key(self) -> str:
        """The signing key: CHAT_SECRET_KEY, or one generated once beside the SQLite file."""
        return self.signing_key()[0]

    def signing_key(self) -> tuple[str, str]:
        """The signing key and where it came from, for the startup log."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value(), "CHAT_SECRET_KEY"
        db_path = self.sqlite_path()
        if db_path is None:
            raise ConfigError(
                "CHAT_SECRET_KEY is required when the database is not a SQLite file: "
                "every instance must sign tokens with the same key"
            )
        key_path = db_path.with_name(db_path.name + ".secret")
        key, created = _read_or_create_key(key_path)
        origin = "generated into" if created else "read from"
        return key, f"{origin} {key_path} (set CHAT_SECRET_KEY in production)"


def _listed(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _read_or_create_key(path: Path) -> tuple[str, bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: concurrent workers starting together agree on one key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"the key file {path} is damaged; delete it to generate a new key") from None
        return key, False
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key, True


@lru_cache
def get_settings() -> Settings:
    return Settings()
