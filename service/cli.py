"""`chat-service`: serve, migrate, and create users.

Each command imports what it uses when it runs: `--help` answers at once, and the
`db` commands never load the web framework."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from service.cli_common import changed, fail, no_database_left_on_failure, read_settings, run_migration
from service.cli_serve import serve

if TYPE_CHECKING:
    from service.config import Settings

# Plain help: flags without the `<bool>` placeholders of the rich layout.
app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None, help="Real-time chat service.")
db_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Database migrations (Alembic).")
user_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Manage users.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.command()(serve)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = read_settings()
    from service import migrate

    typer.echo(changed("upgraded", run_migration("upgrade", settings, lambda: migrate.upgrade(settings, revision))))


# Unknown options are arguments: `-1` is a revision, not an option.
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Revert migrations down to REVISION; what they added is dropped, with its data."""
    settings = read_settings()
    from service import migrate

    if not yes:
        _confirm_downgrade(revision)
    revisions = run_migration("downgrade", settings, lambda: migrate.downgrade(settings, revision))
    typer.echo(changed("downgraded", revisions))


def _confirm_downgrade(revision: str) -> None:
    # Every downgrade asks: undoing a migration drops the tables or columns it added.
    if revision == "base":
        loss = "drops every table, with every user, room and message"
    else:
        loss = "drops the tables and columns that the reverted migrations added, with their data"
    if not sys.stdin.isatty():
        fail(f"downgrading to {revision} {loss}: pass --yes to do it without a terminal to confirm", 2)
    if not typer.confirm(f"Downgrading to {revision} {loss}. Continue?"):
        fail("cancelled; the database is unchanged")


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision."""
    settings = read_settings()
    path = settings.sqlite_path()
    if path is not None and not path.exists():
        typer.echo(f"there is no database at {path} yet: `chat-service db upgrade` (or `serve`) creates it")
        return
    from service import migrate

    found = run_migration("current", settings, lambda: migrate.database_revision(settings))
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
    settings = read_settings()
    from service import migrate

    run_migration("history", settings, lambda: migrate.history(settings))


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="Username: 3-32 of A-Z a-z 0-9 _ . -")],
    admin: Annotated[bool, typer.Option("--admin", help="Grant admin rights.")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Create a user (the first admin, or scripted setup); migrates first when CHAT_AUTO_MIGRATE."""
    from pydantic import ValidationError

    from service import migrate
    from service.auth.schemas import RegisterIn
    from service.config import ConfigError
    from service.errors import ServiceError, validation_message

    settings = read_settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        fail("there is no terminal to ask for the password: pipe it in with --password-stdin", 2)
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        RegisterIn(username=name, password=password)
    except ValidationError as exc:
        fail("; ".join(f"{e['loc'][0]}: {validation_message(e)}" for e in exc.errors()), 2)
    with no_database_left_on_failure(settings):
        if settings.auto_migrate:
            run_migration("migration", settings, lambda: migrate.upgrade(settings))
        try:
            user_id = asyncio.run(_create_user(settings, name, password, admin))
        except ConfigError as exc:
            fail(str(exc), 2)
        except ServiceError as exc:
            fail(exc.detail)
        except Exception as exc:
            fail(f"{type(exc).__name__}: {exc}")
    typer.echo(f"created user {name!r} (id {user_id}{', admin' if admin else ''})")


async def _create_user(settings: Settings, name: str, password: str, admin: bool) -> int:
    from service import migrate
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
