from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, BigIntPK, UTCDateTime, utcnow

# Files the orphan sweep looks at: never attached, bytes still there.
UNATTACHED = "message_id IS NULL AND deleted_at IS NULL"


class File(Base):
    """One uploaded file. Unattached (`message_id` None) it is its uploader's alone;
    attached, it belongs to its message's room. `deleted_at` set: its bytes are gone
    for good and it is never served again."""

    __tablename__ = "files"
    __table_args__ = (
        # The orphan sweep: the oldest unattached files first.
        Index(
            "ix_files_unattached_created_at",
            "created_at",
            sqlite_where=text(UNATTACHED),
            postgresql_where=text(UNATTACHED),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # Indexed: the quota sums a user's files.
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True, default=None
    )
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), default=None)
    filename: Mapped[str] = mapped_column(String(255))
    # Detected from the bytes, never the client's word.
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    # Random, so no one reaches the bytes in storage by guessing from the id.
    storage_key: Mapped[str] = mapped_column(String(255))
    thumbnail_key: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
