"""The File object clients see (docs/files.md), as plain JSON values: the REST
answers and every message that carries files build it here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from service.messages.entries import NOT_YOURS
from service.paging import MAX_DB_INT

FILES_PATH = "/api/v1/files"


def file_object(
    *,
    file_id: int,
    filename: str,
    content_type: str,
    size: int,
    sha256: str,
    width: int | None,
    height: int | None,
    created_at: datetime | str,
    has_thumbnail: bool,
) -> dict[str, Any]:
    """`created_at` as a datetime or as SQLite stores it (UTC, no zone)."""
    when = datetime.fromisoformat(created_at) if isinstance(created_at, str) else created_at
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return {
        "id": str(file_id),
        "filename": filename,
        "content_type": content_type,
        "size": size,
        "sha256": sha256,
        "width": width,
        "height": height,
        "created_at": when.isoformat().replace("+00:00", "Z"),
        "url": f"{FILES_PATH}/{file_id}/content",
        "thumbnail_url": f"{FILES_PATH}/{file_id}/thumbnail" if has_thumbnail else None,
    }


MAX_FILES = 10  # attached to one message


def file_id(text: object) -> int | None:
    """A file's id as clients hold it (an opaque string of digits); None for anything else."""
    if not (isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 19):
        return None
    value = int(text)
    return value if 0 < value <= MAX_DB_INT else None


def file_ids(given: list[str]) -> tuple[int, ...] | str:
    """A message's `files` as ids, or why they are refused (`invalid_files`, as the
    store refuses files the sender may not attach): more than MAX_FILES, or an id no
    file can have."""
    ids = [file_id(f) for f in given]
    if len(ids) > MAX_FILES:
        return f"at most {MAX_FILES} files a message"
    if None in ids:
        return NOT_YOURS
    return tuple(f for f in ids if f is not None)
