"""`chat-service`: serve, migrate, and create users."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, NoReturn

import typer
import uvicorn
from pydantic import ValidationError

from service import migrate
from service.config import ConfigError, Settings
from service.server import raise_open_file_limit, uvicorn_options

# Files besides client sockets: the database, logs, Redis, a backlog of connections being accepted.
FILES_IN_RESERVE = 256

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Real-time chat service.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations (Alembic).")
user_app = typer.Typer(no_args_is_help=True, help="Manage users.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"CHAT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors())
        _fail(f"invalid configuration: {problems}", 2)


def _run_migration(step: str, action: object) -> None:
    try:
        action()  # type: ignore[operator]
    except ConfigError as exc:
        _fail(str(exc), 2)
    except Exception as exc:  # the operator needs the cause, not a traceback
        _fail(f"{step} failed: {type(exc).__name__}: {exc}")


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
    try:
        settings.resolve_secret_key()  # once here, so workers never race to create it
    except (ConfigError, OSError) as exc:
        _fail(str(exc), 2)
    if settings.auto_migrate:
        _run_migration("migration", lambda: migrate.upgrade(settings))
    open_files = raise_open_file_limit()
    if open_files < settings.max_connections + FILES_IN_RESERVE:
        typer.secho(
            f"warning: the open file limit ({open_files}) is below CHAT_MAX_CONNECTIONS ({settings.max_connections}) "
            f"+ {FILES_IN_RESERVE}: raise it (ulimit -n, or LimitNOFILE= under systemd)",
            err=True,
            fg=typer.colors.YELLOW,
        )
    uvicorn.run(
        "service.main:create_app",
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
    _run_migration("upgrade", lambda: migrate.upgrade(settings, revision))


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")]) -> None:
    """Revert migrations down to REVISION."""
    settings = _settings()
    _run_migration("downgrade", lambda: migrate.downgrade(settings, revision))


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision."""
    settings = _settings()
    _run_migration("current", lambda: migrate.current(settings))


@db_app.command("history")
def db_history() -> None:
    """List all revisions."""
    settings = _settings()
    _run_migration("history", lambda: migrate.history(settings))


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="Username: 3-32 of A-Z a-z 0-9 _ . -")],
    admin: Annotated[bool, typer.Option("--admin", help="Grant admin rights.")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Create a user (the first admin, or scripted setup)."""
    from service.auth.schemas import RegisterIn

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        RegisterIn(username=name, password=password)
    except ValidationError as exc:
        _fail("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()), 2)
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


def main() -> None:
    app()
