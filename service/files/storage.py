"""Where files' bytes live, behind one small interface: a local directory or an
S3-compatible store, chosen by CHAT_FILES_URL.

Both are obstore stores: one async library for both, whose reads stream ranges in
chunks and whose writes take an async iterator as a multipart upload (parts of
`part_bytes`, at most two in flight), so neither reads nor writes hold a file
whole, and local disk I/O runs on obstore's own threads, off the event loop."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import obstore
from obstore.store import LocalStore, ObjectStore, S3Store

# Chunks handed to a download; small, so a response waiting for a slow reader holds little.
READ_CHUNK_BYTES = 64 * 1024
# S3 refuses parts under 5 MiB (but the last); a local directory needs no such size.
S3_PART_BYTES = 5 * 1024 * 1024
LOCAL_PART_BYTES = 1024 * 1024
PARTS_IN_FLIGHT = 2


class FileStorage(Protocol):
    """Bytes under keys. A put that fails leaves nothing under its key."""

    async def put(self, key: str, chunks: AsyncIterable[bytes] | bytes) -> None: ...

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end) in chunks; raises FileNotFoundError before the first
        chunk when the key holds nothing."""
        ...

    async def delete(self, key: str) -> None:
        """Gone for good; a key that holds nothing is fine."""
        ...


class ObjectStorage:
    def __init__(self, store: ObjectStore, part_bytes: int) -> None:
        self._store = store
        self._part_bytes = part_bytes

    async def put(self, key: str, chunks: AsyncIterable[bytes] | bytes) -> None:
        if isinstance(chunks, bytes):  # small: one request, no multipart upload
            await obstore.put_async(self._store, key, chunks)
            return
        await obstore.put_async(self._store, key, chunks, chunk_size=self._part_bytes, max_concurrency=PARTS_IN_FLIGHT)

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        if start >= end:  # obstore refuses an empty range
            return _nothing()
        result = await obstore.get_async(self._store, key, options={"range": (start, end)})
        return aiter(result.stream(min_chunk_size=READ_CHUNK_BYTES))

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self._store, key)
        except FileNotFoundError:  # a local directory says so; S3 does not
            pass


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


def local_directory(files_url: str) -> Path | None:
    """The directory a CHAT_FILES_URL names, or None for S3."""
    parts = urlsplit(files_url)
    if parts.scheme == "s3":
        return None
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if len(parts.scheme) > 1:  # "c:" is a Windows drive, not a scheme
        raise ValueError(f"CHAT_FILES_URL {files_url!r}: use a path, file:///path or s3://bucket/prefix")
    return Path(files_url)


def open_storage(files_url: str, *, s3_endpoint_url: str | None = None, s3_region: str | None = None) -> ObjectStorage:
    """The storage CHAT_FILES_URL names; a local directory is created on first use.
    S3 credentials come from the standard AWS_* variables."""
    directory = local_directory(files_url)
    if directory is not None:
        return ObjectStorage(LocalStore(prefix=directory.resolve(), mkdir=True), LOCAL_PART_BYTES)
    config: dict[str, str] = {}
    if s3_endpoint_url:
        config["endpoint"] = s3_endpoint_url
    if s3_region:
        config["region"] = s3_region
    client_options = {"allow_http": True} if (s3_endpoint_url or "").startswith("http://") else None
    store = S3Store.from_url(files_url, config=config, client_options=client_options)  # type: ignore[arg-type]
    return ObjectStorage(store, S3_PART_BYTES)
