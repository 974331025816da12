"""The orphan sweep: files never attached to a message are deleted once older than
CHAT_FILE_ORPHAN_HOURS. Each instance sweeps; a file is claimed by one UPDATE
that only one transaction wins (removal.mark_deleted), its bytes deleted after
that commits, then its row."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db import utcnow
from service.files.models import File
from service.files.removal import delete_bytes, mark_deleted
from service.files.storage import FileStorage

log = logging.getLogger("service.files")

BATCH = 100
# How often each instance sweeps, at most; sooner for short ages (tests, small disks).
MAX_INTERVAL_SECONDS = 600.0


async def sweep_orphans(writes: async_sessionmaker[AsyncSession], storage: FileStorage, older_than: timedelta) -> int:
    """Delete the unattached files created before now - older_than; how many."""
    swept = 0
    while True:
        cutoff = utcnow() - older_than
        oldest = (
            select(File.id)
            .where(File.message_id.is_(None), File.deleted_at.is_(None), File.created_at < cutoff)
            .order_by(File.created_at)
            .limit(BATCH)
            .scalar_subquery()
        )
        async with writes() as session, session.begin():
            doomed = await mark_deleted(session, File.id.in_(oldest) & File.message_id.is_(None))
        if not doomed:
            return swept
        await delete_bytes(storage, doomed)
        async with writes() as session, session.begin():
            await session.execute(delete(File).where(File.id.in_([f.id for f in doomed]), File.message_id.is_(None)))
        swept += len(doomed)


class OrphanSweep:
    """The periodic sweep, started and stopped by the lifespan."""

    def __init__(self, writes: async_sessionmaker[AsyncSession], storage: FileStorage, orphan_hours: float) -> None:
        self._writes, self._storage = writes, storage
        self._age = timedelta(hours=orphan_hours)
        self._interval = min(MAX_INTERVAL_SECONDS, self._age.total_seconds() / 4)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="files-orphan-sweep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                swept = await sweep_orphans(self._writes, self._storage, self._age)
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("the orphan sweep failed")
                continue
            if swept:
                log.info("removed %d files never attached", swept)
