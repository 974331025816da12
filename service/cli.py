"""`chat-service`: serve, migrate, and create users."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.config
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, NoReturn, TypeVar

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from service import migrate
from service.config import ConfigError, Settings
from service.errors import validation_message
from service.files.storage import local_directory
from service.logs import log_config
from service.server import raise_open_file_limit, uvicorn_options

T = TypeVar("T")

# Files besides client sockets: the database, logs, Redis, a backlog of connections being accepted.
FILES_IN_RESERVE = 256

log = logging.getLogger("service.cli")

# Plain help: flags without the `<bool>` placeholders of the rich layout.
app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None, help="Real-time chat service.")
db_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Database migrations (Alembic).")
user_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Manage users.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CHAT_{'_'.join(str(p) for p in e['loc']).upper()}: {validation_message(e)}" for e in exc.errors()
        )
        _fail(f"invalid configuration: {problems}", 2)


@contextlib.contextmanager
def _no_database_left_on_failure(settings: Settings) -> Iterator[None]:
    """A command that fails leaves no SQLite file behind that it created itself."""
    path = settings.sqlite_path()
    existed = path is None or path.exists()
    try:
        yield
    except BaseException:
        if path is not None and not existed:
            for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
        raise


def _run_migration(step: str, settings: Settings, action: Callable[[], T]) -> T:
    with _no_database_left_on_failure(settings):
        try:
            return action()
        except ConfigError as exc:
            _fail(str(exc), 2)
        except Exception as exc:  # the operator needs the cause, not a traceback
            _fail(f"{step} failed: {type(exc).__name__}: {exc}")


def _changed(verb: str, revisions: tuple[str | None, str | None]) -> str:
    before, after = revisions
    if before == after:
        return f"the database is already at revision {after or 'none'}"
    return f"{verb} the database from revision {before or 'none'} to {after or 'none'}"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes; more than 1 needs CHAT_REDIS_URL.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the whole service (REST, WebSocket), migrating first when CHAT_AUTO_MIGRATE."""
    settings = _settings()
    if workers > 1 and not settings.redis_url:
        _fail(
            "--workers > 1 needs CHAT_REDIS_URL: without Redis, workers cannot share "
            "messages and presence; run one worker or set CHAT_REDIS_URL",
            2,
        )
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
        _fail(str(exc), 2)
    # What the app's startup would fail on, checked here: a failure there is a
    # traceback from uvicorn, here it is one line.
    if settings.redis_url:
        _check_redis(settings.redis_url)
    if settings.auto_migrate:
        revisions = _run_migration("migration", settings, lambda: migrate.upgrade(settings))
        log.info("migrations: %s", _changed("upgraded", revisions))
    else:
        _run_migration("the schema check", settings, lambda: migrate.require_current(settings))
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


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = _settings()
    typer.echo(_changed("upgraded", _run_migration("upgrade", settings, lambda: migrate.upgrade(settings, revision))))


# Unknown options are arguments: `-1` is a revision, not an option.
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Revert migrations down to REVISION; what they added is dropped, with its data."""
    settings = _settings()
    if not yes:
        _confirm_downgrade(revision)
    revisions = _run_migration("downgrade", settings, lambda: migrate.downgrade(settings, revision))
    typer.echo(_changed("downgraded", revisions))


def _confirm_downgrade(revision: str) -> None:
    # Every downgrade asks: undoing a migration drops the tables or columns it added.
    if revision == "base":
        loss = "drops every table, with every user, room and message"
    else:
        loss = "drops the tables and columns that the reverted migrations added, with their data"
    if not sys.stdin.isatty():
        _fail(f"downgrading to {revision} {loss}: pass --yes to do it without a terminal to confirm", 2)
    if not typer.confirm(f"Downgrading to {revision} {loss}. Continue?"):
        _fail("cancelled; the database is unchanged")


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision."""
    settings = _settings()
    path = settings.sqlite_path()
    if path is not None and not path.exists():
        typer.echo(f"there is no database at {path} yet: `chat-service db upgrade` (or `serve`) creates it")
        return
    found = _run_migration("current", settings, lambda: migrate.database_revision(settings))
    head = migrate.head_revision()
    if found is None:
        typer.echo(
            f"the database has no schema yet (revision none; this version needs {head}): run `chat-service db upgrade`"
        )
    elif found == head:
        typer.echo(f"revision {found} (head): up to date")
    else:
        typer.echo(f"revision {found}; this version needs {head}: run `chat-service db upgrade`")


@db_app.command("history")
def db_history() -> None:
    """List all revisions."""
    settings = _settings()
    _run_migration("history", settings, lambda: migrate.history(settings))


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="Username: 3-32 of A-Z a-z 0-9 _ . -")],
    admin: Annotated[bool, typer.Option("--admin", help="Grant admin rights.")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Create a user (the first admin, or scripted setup); migrates first when CHAT_AUTO_MIGRATE."""
    from service.auth.schemas import RegisterIn

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        _fail("there is no terminal to ask for the password: pipe it in with --password-stdin", 2)
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        RegisterIn(username=name, password=password)
    except ValidationError as exc:
        _fail("; ".join(f"{e['loc'][0]}: {validation_message(e)}" for e in exc.errors()), 2)
    with _no_database_left_on_failure(settings):
        if settings.auto_migrate:
            _run_migration("migration", settings, lambda: migrate.upgrade(settings))
        try:
            user_id = asyncio.run(_create_user(settings, name, password, admin))
        except ConfigError as exc:
            _fail(str(exc), 2)
        except Exception as exc:
            from service.errors import ServiceError

            if isinstance(exc, ServiceError):
                _fail(exc.detail)
            _fail(f"{type(exc).__name__}: {exc}")
    typer.echo(f"created user {name!r} (id {user_id}{', admin' if admin else ''})")


async def _create_user(settings: Settings, name: str, password: str, admin: bool) -> int:
    from service.auth.security import PasswordHasher
    from service.auth.service import create_user
    from service.db import create_engine, create_sessionmaker

    engine = create_engine(settings.database_url)
    try:
        await migrate.ensure_current(engine)
        async with create_sessionmaker(engine)() as session, session.begin():
            user = await create_user(session, PasswordHasher(settings), name, password, is_admin=admin)
            return user.id
    finally:
        await engine.dispose()


def _log_files(settings: Settings) -> None:
    """Where files live; with Redis, instances may run on other hosts, and each
    would keep its own local directory (docs/operations.md)."""
    location = settings.files_location()
    try:
        directory = local_directory(location)
    except ValueError as exc:
        _fail(str(exc), 2)
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
    try:
        import redis

        from service.redis_client import is_cluster, parse_cluster, ping_once, shown
    except ImportError:
        _fail("CHAT_REDIS_URL needs the redis package: pip install -e '.[scale]'", 2)
    try:
        ping_once(url)
    except ValueError as exc:
        _fail(f"CHAT_REDIS_URL is not a Redis URL ({exc})", 2)
    except (redis.RedisError, redis.exceptions.RedisClusterException, OSError) as exc:
        cause = f"{type(exc).__name__}: {exc}"
        password = parse_cluster(url).password if is_cluster(url) else make_url(url).password
        cause = cause.replace(str(password), "***") if password else cause
        _fail(f"Redis at {shown(url)} does not answer ({cause}): start it, or fix CHAT_REDIS_URL")


def main() -> None:
    app()
