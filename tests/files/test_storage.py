"""The storage interface on both backends: streamed puts, ranged reads, deletes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.config import Settings
from service.files.storage import FileStorage, local_directory, open_storage
from tests.files.conftest import body_of


@pytest.fixture
def storage(settings: Settings) -> FileStorage:
    return open_storage(
        settings.files_location(), s3_endpoint_url=settings.s3_endpoint_url, s3_region=settings.s3_region
    )


async def chunks_of(data: bytes, size: int = 100_000, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for n, start in enumerate(range(0, len(data), size)):
        if fail_after is not None and n == fail_after:
            raise RuntimeError("the client went away")
        yield data[start : start + size]


async def test_bytes_put_in_chunks_read_back_whole_and_by_range(storage: FileStorage) -> None:
    data = bytes(range(256)) * 8000  # about 2 MB: several parts locally
    await storage.put("k1", chunks_of(data))
    assert await body_of(await storage.read("k1", 0, len(data))) == data
    assert await body_of(await storage.read("k1", 1000, 1010)) == data[1000:1010]
    assert await body_of(await storage.read("k1", 5, 5)) == b""


async def test_a_put_that_fails_half_way_leaves_nothing(storage: FileStorage) -> None:
    with pytest.raises(RuntimeError):
        await storage.put("k2", chunks_of(b"x" * 2_000_000, fail_after=3))
    with pytest.raises(FileNotFoundError):
        await storage.read("k2", 0, 10)


async def test_deleted_bytes_are_gone_and_deleting_twice_is_fine(storage: FileStorage) -> None:
    await storage.put("k3", chunks_of(b"abc"))
    await storage.delete("k3")
    await storage.delete("k3")
    with pytest.raises(FileNotFoundError):
        await storage.read("k3", 0, 3)


def test_files_url_names_a_directory_or_s3(tmp_path: object) -> None:
    assert str(local_directory("file:///srv/chat/files")) == "/srv/chat/files"
    assert str(local_directory("./files")) == "files"
    assert local_directory("s3://bucket/prefix") is None
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        local_directory("ftp://host/files")


def test_default_directory_is_beside_the_sqlite_file(tmp_path: object) -> None:
    settings = Settings(_env_file=None, database_url="sqlite+aiosqlite:////srv/chat/chat.db")  # type: ignore[call-arg]
    assert settings.files_location() == "/srv/chat/files"
