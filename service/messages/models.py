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
REACTION: Final = "reaction"
PIN: Final = "pin"

# The entries that never count as a room's unread (events, deleted messages, replies in
# threads): written here once for the index and the count query alike, since a partial
# index serves only queries whose WHERE matches its own.
UNCOUNTED = "(kind <> 'message' OR deleted OR thread_seq IS NOT NULL)"


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
        CheckConstraint("kind IN ('message', 'edit', 'delete', 'reaction', 'pin')", name="kind"),
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
            "thread_seq",
            sqlite_where=text(UNCOUNTED),
            postgresql_where=text(UNCOUNTED),
        ),
        # A thread's page and its followers' unread: only the replies above a marker
        # are read to count, from this index alone.
        Index(
            "ix_messages_replies",
            "room_id",
            "thread_seq",
            "seq",
            "deleted",
            "user_id",
            sqlite_where=text("thread_seq IS NOT NULL"),
            postgresql_where=text("thread_seq IS NOT NULL"),
        ),
        Index(
            "ix_messages_room_mentions",
            "room_id",
            "thread_seq",
            "seq",
            "user_id",
            # A column too, so SQLite counts from the index alone (as for kind and deleted above).
            "mentions_room",
            sqlite_where=text("mentions_room"),
            postgresql_where=text("mentions_room"),
        ),
        Index(
            "ix_messages_pinned",
            "room_id",
            "pinned_seq",
            sqlite_where=text("pinned_seq IS NOT NULL"),
            postgresql_where=text("pinned_seq IS NOT NULL"),
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
    # A reply's root (a top-level message of the room); None for top-level messages and events.
    thread_seq: Mapped[int | None] = mapped_column(Integer, default=None)
    # A message's: the seq of the last entry that changed it (guarantee 10), else its
    # own; an event's: its own.
    updated_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    # A root's replies that are not deleted.
    reply_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The seq of the pin entry that pinned it; None when not pinned.
    pinned_seq: Mapped[int | None] = mapped_column(Integer, default=None)
    # JSON: the ids of the users named, in order of first appearance; None when none.
    mention_ids: Mapped[str | None] = mapped_column(Text, default=None)
    mentions_room: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # JSON: [{"emoji","count","user_ids"}] in the order each emoji was first added
    # (user_ids the first 100), kept with each reaction entry from `reactions`.
    reactions: Mapped[str | None] = mapped_column(Text, default=None)
    # JSON: what an event's frame (or a message's) says beyond these columns, as of
    # that entry: a reaction's emoji, op and count, a pin's op, a delete's
    # "unpinned", a reply's or a reply delete's root counts, a message's files (the
    # File objects; gone with the message's delete).
    detail: Mapped[str | None] = mapped_column(Text, default=None)

    user: Mapped[User] = relationship(lazy="raise")


class Reaction(Base):
    """One user's emoji on one message: the source of the message's summary."""

    __tablename__ = "reactions"
    __table_args__ = (Index("ix_reactions_order", "message_id", "emoji", "seq"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)  # the entry that added it: the order of user_ids


class Mention(Base):
    """A user named in a message (`@name`, members only, never its author). `also_room`:
    the message says `@room` too, so mention counts take it once."""

    __tablename__ = "mentions"
    __table_args__ = (Index("ix_mentions_unread", "user_id", "room_id", "thread_seq", "seq", "also_room"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    thread_seq: Mapped[int | None] = mapped_column(Integer, default=None)
    also_room: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class ThreadMarker(Base):
    """A follower of a thread and how far they have read it."""

    __tablename__ = "thread_markers"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    root_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_read_seq: Mapped[int] = mapped_column(Integer, server_default="0")
