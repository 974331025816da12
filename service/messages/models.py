from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.auth.models import User
from service.db import Base, BigIntPK, UTCDateTime, utcnow

# The kinds of a room's stream: each row is one position (`seq`) in it.
MESSAGE: Final = "message"
EDIT: Final = "edit"
DELETE: Final = "delete"

# The entries that never count as unread (events, deleted messages): written here once
# for the index and the count query alike, since a partial index serves only queries
# whose WHERE matches its own.
UNCOUNTED = "(kind <> 'message' OR deleted)"


class Message(Base):
    """One entry of a room's stream: a message, or an edit or delete of the message
    at `target_seq`. A message row holds the message's current state (an edit
    rewrites its body, a delete empties it); an edit row keeps the body it set,
    emptied too when its message is deleted."""

    __tablename__ = "messages"
    __table_args__ = (
        # Also the index for history paging and replay (room_id, seq).
        UniqueConstraint("room_id", "seq"),
        # NULLs are distinct, so messages without a client_msg_id never collide.
        UniqueConstraint("room_id", "user_id", "client_msg_id"),
        CheckConstraint("kind IN ('message', 'edit', 'delete')", name="kind"),
        # Unread counts subtract the entries above a marker that do not count, read
        # from this index alone; a plain message adds no entry to it. kind and deleted
        # are columns too: SQLite reads an index alone only when it holds every column
        # the query names.
        Index(
            "ix_messages_uncounted",
            "room_id",
            "seq",
            "kind",
            "deleted",
            sqlite_where=text(UNCOUNTED),
            postgresql_where=text(UNCOUNTED),
        ),
        # A delete empties the edits of its message.
        Index(
            "ix_messages_target",
            "room_id",
            "target_seq",
            sqlite_where=text("target_seq IS NOT NULL"),
            postgresql_where=text("target_seq IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8), default=MESSAGE, server_default=MESSAGE)
    target_seq: Mapped[int | None] = mapped_column(Integer, default=None)
    # The author of a message; who edited or deleted, for an event.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body: Mapped[str | None] = mapped_column(Text)
    # A message's words as search sees them (service.search.words), which each
    # engine indexes (migration 0009); None for events and deleted messages.
    search_text: Mapped[str | None] = mapped_column(Text, deferred=True, deferred_raiseload=True)
    client_msg_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    user: Mapped[User] = relationship(lazy="raise")
