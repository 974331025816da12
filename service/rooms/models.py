from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.auth.models import User
from service.db import Base, BigIntPK, UTCDateTime, utcnow

ROOM: Final = "room"
DIRECT: Final = "direct"  # a conversation of two users


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (
        CheckConstraint("kind IN ('room', 'direct')", name="kind"),
        # Unique among public rooms only: a private room's name conflicts with
        # nothing, so no answer reveals that it exists.
        Index(
            "uq_rooms_public_name_key",
            "name_key",
            unique=True,
            sqlite_where=text("NOT private"),
            postgresql_where=text("NOT private"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), default=ROOM, server_default=ROOM)
    name: Mapped[str] = mapped_column(String(64))
    # casefold()ed name: uniqueness ignores case, Unicode included, on every backend.
    # Folding can lengthen a name up to three times (ß is ss). None for direct
    # conversations, which are outside the rule.
    name_key: Mapped[str | None] = mapped_column(String(192))
    # "<lower user id>:<higher user id>": one conversation per pair, however many ask at once.
    direct_key: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    description: Mapped[str] = mapped_column(String(500), default="")
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The room's stream counter (messages, edits, deletes). Incrementing it in the
    # inserting transaction locks the row, so seq is gapless and follows commit order.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)

    owner: Mapped[User] = relationship(lazy="raise")


class RoomMember(Base):
    __tablename__ = "room_members"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The member's read marker: the stream position they have read up to.
    last_read_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    user: Mapped[User] = relationship(lazy="raise")
