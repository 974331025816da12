from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from service.files.models import File
from service.files.objects import file_object


class FileOut(BaseModel):
    id: str  # opaque to clients
    filename: str
    content_type: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    created_at: datetime
    url: str
    thumbnail_url: str | None

    @classmethod
    def of(cls, file: File) -> FileOut:
        return cls.model_validate(
            file_object(
                file_id=file.id,
                filename=file.filename,
                content_type=file.content_type,
                size=file.size,
                sha256=file.sha256,
                width=file.width,
                height=file.height,
                created_at=file.created_at,
                has_thumbnail=file.thumbnail_key is not None,
            )
        )
