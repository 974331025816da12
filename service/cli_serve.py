"""`chat-service serve`: checks what the service would fail on, says what it runs on, then runs it."""

from __future__ import annotations

import logging
import logging.config
from typing import TYPE_CHECKING, Annotated

import typer

from service.cli_common import changed, fail, read_settings, run_migration

if TYPE_CHECKING:
    from service.config import Settings

# Files besides client sockets: the database, logs, Redis, a backlog of connections being accepted.
FILES_IN_RESERVE = 256

log = logging.getLogger("service.cli")


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes; more than 1 needs CHAT_REDIS_URL.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the whole service (REST, WebSocket), migrating first when CHAT_AUTO_MIGRATE."""
    settings = read_settings()
    if workers > 1 and not settings.redis_url:
        fail(
            "--workers > 1 needs CHAT_REDIS_URL: without Redis, workers cannot share "
            "messages and presence; run one worker or set CHAT_REDIS_URL",
            2,
        )
    import uvicorn
    from sqlalchemy.engine import make_url

    from service import migrate
    from service.config import ConfigError
    from service.logs import log_config
    from service.server import raise_open_file_limit, uvicorn_options

    logging.config.dictConfig(log_config())
    log.info("database: %s", make_url(settings.database_url).render_as_string(hide_password=True))
    if settings.redis_url:
        from service.redis_client import shown

        log.info("broker: Redis at %s, prefix %r", shown(settings.redis_url), settings.redis_prefix)
    else:
        log.info("broker: in-process (one process; set CHAT_REDIS_URL to scale out)")
    _log_files(settings)
    try:
        # Once here, so workers never race to create it and the log says it once.
        log.info("signing key: %s", settings.signing_key()[1])
    except (ConfigError, OSError) as exc:
        fail(str(exc), 2)
    # What the app's startup would fail on, checked here: a failure there is a
    # traceback from uvicorn, here it is one line.
    if settings.redis_url:
        _check_redis(settings.redis_url)
    if settings.auto_migrate:
        revisions = run_migration("migration", settings, lambda: migrate.upgrade(settings))
        log.info("migrations: %s", changed("upgraded", revisions))
    else:
        run_migration("the schema check", settings, lambda: migrate.require_current(settings))
        log.info("migrations: not applied (CHAT_AUTO_MIGRATE=false)")
    open_files = raise_open_file_limit()
    if open_files < settings.max_connections + FILES_IN_RESERVE:
        log.warning(
            "the open file limit (%d) is below CHAT_MAX_CONNECTIONS (%d) + %d: raise it "
            "(ulimit -n, or LimitNOFILE= under systemd)",
            open_files,
            settings.max_connections,
            FILES_IN_RESERVE,
        )
    uvicorn.run(
        "service.main:served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        **uvicorn_options(settings),
    )


def _log_files(settings: Settings) -> None:
    """Where files live; with Redis, instances may run on other hosts, and each
    would keep its own local directory (docs/operations.md)."""
    from service.files.storage import local_directory

    location = settings.files_location()
    try:
        directory = local_directory(location)
    except ValueError as exc:
        fail(str(exc), 2)
    if directory is None:
        log.info("files: S3 at %s", location)
        return
    log.info("files: the directory %s", directory)
    if settings.redis_url:
        log.warning(
            "files are kept in the local directory %s: every instance must share it (a network file "
            "system), or a file uploaded through one is missing on the others; set CHAT_FILES_URL=s3://bucket/prefix "
            "to keep them in S3",
            directory,
        )


def _check_redis(url: str) -> None:
    from sqlalchemy.engine import make_url

    try:
        import redis

        from service.redis_client import is_cluster, parse_cluster, ping_once, shown
    except ImportError:
        fail("CHAT_REDIS_URL needs the redis package: pip install -e '.[scale]'", 2)
    try:
        ping_once(url)
    except ValueError as exc:
        fail(f"CHAT_REDIS_URL is not a Redis URL ({exc})", 2)
    except (redis.RedisError, redis.exceptions.RedisClusterException, OSError) as exc:
        cause = f"{type(exc).__name__}: {exc}"
        password = parse_cluster(url).password if is_cluster(url) else make_url(url).password
        cause = cause.replace(str(password), "***") if password else cause
        fail(f"Redis at {shown(url)} does not answer ({cause}): start it, or fix CHAT_REDIS_URL")
