"""What the `chat-service` commands share: settings read or refused in one line, and migrations run that way."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from service.config import Settings

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def read_settings() -> Settings:
    # Imported here, as in every command: `chat-service --help` loads none of it.
    from pydantic import ValidationError

    from service.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        from service.errors import validation_message

        problems = "; ".join(
            f"CHAT_{'_'.join(str(p) for p in e['loc']).upper()}: {validation_message(e)}" for e in exc.errors()
        )
        fail(f"invalid configuration: {problems}", 2)


@contextlib.contextmanager
def no_database_left_on_failure(settings: Settings) -> Iterator[None]:
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


def run_migration(step: str, settings: Settings, action: Callable[[], T]) -> T:
    from service.config import ConfigError

    with no_database_left_on_failure(settings):
        try:
            return action()
        except ConfigError as exc:
            fail(str(exc), 2)
        except Exception as exc:  # the operator needs the cause, not a traceback
            fail(f"{step} failed: {type(exc).__name__}: {exc}")


def changed(verb: str, revisions: tuple[str | None, str | None]) -> str:
    before, after = revisions
    if before == after:
        return f"the database is already at revision {after or 'none'}"
    return f"{verb} the database from revision {before or 'none'} to {after or 'none'}"
