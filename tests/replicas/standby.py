"""A streaming replica of the machine's PostgreSQL, made for a test module.

`pg_basebackup -R -X stream` copies the whole cluster (every test database
included) with the primary's connection in `postgresql.auto.conf`, and `pg_ctl`
starts it as a hot standby on a free port, its socket in its own directory.
PostgreSQL refuses to run as root, so as root both run as the `postgres` user."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import asyncpg

from tests.conftest import POSTGRES_ADMIN_URL, free_port

TIMEOUT = 120


class StandbyError(RuntimeError):
    """The replica could not be made here; the message says why."""


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise StandbyError(f"{name} is not installed")
    return found


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def _run(*args: str) -> None:
    done = subprocess.run(_as_postgres(*args), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        raise StandbyError(f"{Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()[-500:]}")


async def _settings_of_primary() -> dict[str, str]:
    # A hot standby must allow at least as much as its primary of these.
    names = ("max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
             "max_locks_per_transaction")  # fmt: skip
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        rows = await conn.fetch("SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])", list(names))
    finally:
        await conn.close()
    return {row["name"]: row["setting"] for row in rows}


class Standby:
    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="chat-standby-"))
        self.data = self.root / "data"
        self._pg_ctl = _tool("pg_ctl")

    def make(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        _run(_tool("pg_basebackup"), "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-D", str(self.data),
             "-R", "-X", "stream", "--checkpoint=fast")  # fmt: skip
        primary = asyncio.run(_settings_of_primary())
        conf = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "hot_standby": "on",
            "shared_buffers": "'16MB'",
            "logging_collector": "off",
            **primary,
        }
        # Debian keeps the configuration outside the data directory: the copy has none.
        self._write("postgresql.conf", "".join(f"{k} = {v}\n" for k, v in conf.items()))
        self._write("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n")
        self.start()

    def _write(self, name: str, content: str) -> None:
        path = self.data / name
        path.write_text(content)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def start(self) -> None:
        _run(self._pg_ctl, "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", str(TIMEOUT), "start")

    def stop(self) -> None:
        _run(self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop()
            except StandbyError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def sql(self, statement: str) -> object:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", timeout=5)
        try:
            return await conn.fetchval(statement)
        finally:
            await conn.close()

    async def pause_replay(self) -> None:
        await self.sql("SELECT pg_wal_replay_pause()")

    async def resume_replay(self) -> None:
        await self.sql("SELECT pg_wal_replay_resume()")
