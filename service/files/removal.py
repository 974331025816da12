"""Deleting files for good: the rows marked first (in the caller's transaction, so
no one is served them once it commits), then their bytes, after the commit. A
message delete calls both; the orphan sweep too."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import utcnow
from service.files.models import File
from service.files.storage import FileStorage
from service.tables import messages

log = logging.getLogger("service.files")


@dataclass(frozen=True, slots=True)
class Doomed:
    """A file whose row is marked deleted, its bytes still to delete."""

    id: int
    keys: tuple[str, ...]


async def mark_deleted(session: AsyncSession, where: ColumnElement[bool]) -> list[Doomed]:
    """Mark the files matching `where` (and not deleted yet) deleted; only this
    transaction wins each, so with several instances each file is claimed once."""
    rows = await session.execute(
        update(File)
        .where(where, File.deleted_at.is_(None))
        .values(deleted_at=utcnow())
        .returning(File.id, File.storage_key, File.thumbnail_key)
        .execution_options(synchronize_session=False)
    )
    return [Doomed(id_, (key, *([thumb] if thumb else []))) for id_, key, thumb in rows.all()]


async def mark_files_deleted(session: AsyncSession, file_ids: Sequence[int]) -> list[Doomed]:
    """For a message delete: its files, by id."""
    return await mark_deleted(session, File.id.in_(file_ids)) if file_ids else []


async def delete_bytes(storage: FileStorage, doomed: Iterable[Doomed]) -> None:
    """After the marking committed. A failure is logged: the row says deleted, and
    the bytes are never served again, whatever storage still holds."""
    for file in doomed:
        for key in file.keys:
            try:
                await storage.delete(key)
            except Exception:  # noqa: BLE001 - storage down: the next delete or sweep does not retry, say so
                log.exception("could not delete the bytes of file %d (key %s)", file.id, key)


async def purge_message_files(session: AsyncSession, storage: FileStorage, room_id: int, seq: int) -> None:
    """After a message's delete committed (which marked its files deleted): their bytes."""
    rows = await session.execute(
        select(File.id, File.storage_key, File.thumbnail_key)
        .join(messages, messages.c.id == File.message_id)
        .where(messages.c.room_id == room_id, messages.c.seq == seq, File.deleted_at.is_not(None))
    )
    await delete_bytes(storage, [Doomed(id_, (key, *([thumb] if thumb else []))) for id_, key, thumb in rows.all()])
