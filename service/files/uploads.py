"""Storing an upload: the multipart body's `file` part streamed to storage under a
random key (its SHA-256 and size counted on the way, refused once over the file
limit or the uploader's quota), its type detected from its first bytes, an
image described in a worker thread, then its row. An upload that fails half way
leaves neither bytes nor row."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterable, AsyncIterator

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.auth.models import User
from service.errors import ServiceError
from service.files.images import Thumbnailer
from service.files.kinds import HEAD_BYTES, IMAGE_TYPES, detect_type
from service.files.models import File
from service.files.multipart import ENVELOPE_BYTES, file_part
from service.files.names import safe_filename
from service.files.storage import FileStorage


class TooLarge(ServiceError):
    status_code = 413


def _mib(n: int) -> str:
    """A limit as people read it: whole bytes below 1 MiB (a test's tiny limit too)."""
    return f"{n / 1024 / 1024:g} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


class Uploads:
    def __init__(
        self,
        storage: FileStorage,
        thumbnailer: Thumbnailer,
        reads: async_sessionmaker[AsyncSession],
        writes: async_sessionmaker[AsyncSession],
        *,
        max_file_bytes: int,
        quota_bytes: int,
    ) -> None:
        self.storage = storage
        self._thumbnailer = thumbnailer
        self._reads, self._writes = reads, writes
        self._max_file_bytes, self._quota_bytes = max_file_bytes, quota_bytes

    async def upload(
        self, uploader_id: int, body: AsyncIterable[bytes], content_type: str | None, declared_length: int | None
    ) -> File:
        """The stored file's row. Raises TooLarge (413), multipart.MalformedBody or MissingFile."""
        if declared_length is not None and declared_length > self._max_file_bytes + ENVELOPE_BYTES:
            raise self._too_large()
        # No transaction is held while the body arrives: a read now, a write at the end.
        async with self._reads() as session:
            room = self._quota_bytes - await _used(session, uploader_id)
        if room <= 0:
            raise self._over_quota()
        part = await file_part(body, content_type)
        counted = _Counted(part.chunks, self._max_file_bytes, room, self)
        key = secrets.token_urlsafe(32)
        head, complete = await counted.head()
        try:
            await self.storage.put(key, head if complete else counted.all_from(head))
            stored = await self._describe_and_insert(uploader_id, part.filename, key, head, counted)
        except BaseException:
            await asyncio.shield(self._forget(key))
            raise
        return stored

    async def _describe_and_insert(
        self, uploader_id: int, filename: str, key: str, head: bytes, counted: _Counted
    ) -> File:
        content_type = detect_type(head)
        info = None
        if content_type in IMAGE_TYPES:
            info = await self._thumbnailer.describe(lambda: self._bytes_of(key, counted.size), content_type)
        thumbnail_key = None
        if info is not None:
            thumbnail_key = f"{key}.thumb"
            await self.storage.put(thumbnail_key, info.thumbnail)
        file = File(
            uploader_id=uploader_id,
            filename=safe_filename(filename),
            content_type=content_type,
            size=counted.size,
            sha256=counted.sha256.hexdigest(),
            width=info.width if info else None,
            height=info.height if info else None,
            storage_key=key,
            thumbnail_key=thumbnail_key,
        )
        async with self._writes() as session, session.begin():
            # The quota again, under the uploader's row lock: concurrent uploads add up.
            await session.execute(select(User.id).where(User.id == uploader_id).with_for_update())
            if await _used(session, uploader_id) + file.size > self._quota_bytes:
                raise self._over_quota()
            session.add(file)
        return file

    async def _bytes_of(self, key: str, size: int) -> bytes:
        return b"".join([chunk async for chunk in await self.storage.read(key, 0, size)])

    async def _forget(self, key: str) -> None:
        with contextlib.suppress(Exception):  # the upload's own error is the one to answer with
            for k in (key, f"{key}.thumb"):
                await self.storage.delete(k)

    def _too_large(self) -> TooLarge:
        return TooLarge(f"file larger than {_mib(self._max_file_bytes)}")

    def _over_quota(self) -> TooLarge:
        return TooLarge(f"upload quota of {_mib(self._quota_bytes)} exceeded; delete files to make room")


async def _used(session: AsyncSession, uploader_id: int) -> int:
    used = await session.scalar(
        select(func.coalesce(func.sum(File.size), 0)).where(File.uploader_id == uploader_id, File.deleted_at.is_(None))
    )
    return int(used or 0)


class _Counted:
    """The part's bytes, hashed and counted as they pass; over a limit, TooLarge."""

    def __init__(self, chunks: AsyncIterator[bytes], max_bytes: int, room: int, uploads: Uploads) -> None:
        self._chunks = chunks
        self._max, self._room, self._uploads = max_bytes, room, uploads
        self.size = 0
        self.sha256 = hashlib.sha256()

    async def _next(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            self.size += len(chunk)
            if self.size > self._max:
                raise self._uploads._too_large()
            if self.size > self._room:
                raise self._uploads._over_quota()
            self.sha256.update(chunk)
            yield chunk

    async def head(self) -> tuple[bytes, bool]:
        """The first HEAD_BYTES (for the type), and whether that is the whole file."""
        self._stream = self._next()
        head = bytearray()
        async for chunk in self._stream:
            head += chunk
            if len(head) >= HEAD_BYTES:
                return bytes(head), False
        return bytes(head), True

    async def all_from(self, head: bytes) -> AsyncIterator[bytes]:
        yield head
        async for chunk in self._stream:
            yield chunk
