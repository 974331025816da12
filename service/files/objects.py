"""The File object clients see (docs/files.md), as plain JSON values: the REST
answers and every message that carries files build it here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
_MAX_ID = 2**63 - 1


def file_id(text: object) -> int | None:
    """A file's id as clients hold it (an opaque string of digits); None for anything else."""
    if not (isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 19):
        return None
    value = int(text)
    return value if 0 < value <= _MAX_ID else None
