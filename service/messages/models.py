from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.auth.models import User
from service.db import Base, BigIntPK, UTCDateTime, utcnow


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # Also the index for history paging and replay (room_id, seq).
        UniqueConstraint("room_id", "seq"),
        # NULLs are distinct, so messages without a client_msg_id never collide.
        UniqueConstraint("room_id", "user_id", "client_msg_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    client_msg_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="raise")
