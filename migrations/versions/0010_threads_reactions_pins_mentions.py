"""threads, reactions, pins and mentions: entries of the stream, and each message's state

- messages: `thread_seq` (a reply's root), `updated_seq` (the last entry that
  changed the message), the root's `reply_count` and `last_reply_at`,
  `pinned_seq`, `mention_ids` and `mentions_room`, the `reactions` summary, and
  `detail` (what an event entry's frame says beyond its columns); the kinds
  `reaction` and `pin`.
- reactions: who reacted with what, the source of each message's summary.
- mentions: who a message names, for the mention counts and pages.
- thread_markers: each follower's marker in a thread.

Unread leaves replies out: ix_messages_uncounted takes them in. Existing messages
get `updated_seq` from their last edit or delete.

SQLite changes the kind check by copying the table, which drops the search
triggers of 0009; they are made again on the copy (its ids are the same, so the
search index stays valid).

Downgrade: reaction and pin entries have no place in the older schema and are
removed (as 0002's downgrade removed events); replies become top-level messages.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "kind IN ('message', 'edit', 'delete', 'reaction', 'pin')"
OLD_KINDS = "kind IN ('message', 'edit', 'delete')"
UNCOUNTED = "(kind <> 'message' OR deleted OR thread_seq IS NOT NULL)"
OLD_UNCOUNTED = "(kind <> 'message' OR deleted)"

SQLITE_TRIGGERS = [
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN new.search_text IS NOT NULL BEGIN
        INSERT INTO messages_fts (rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF search_text ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, search_text)
            SELECT 'delete', old.id, old.search_text WHERE old.search_text IS NOT NULL;
        INSERT INTO messages_fts (rowid, search_text)
            SELECT new.id, new.search_text WHERE new.search_text IS NOT NULL;
    END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
        WHEN old.search_text IS NOT NULL BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    END""",
]
SQLITE_DROP_TRIGGERS = [
    "DROP TRIGGER messages_fts_delete",
    "DROP TRIGGER messages_fts_update",
    "DROP TRIGGER messages_fts_insert",
]


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def _kinds(check: str) -> None:
    """The kind check replaced by `check`; on SQLite by a copy of the table."""
    if _sqlite():
        _run(SQLITE_DROP_TRIGGERS)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_messages_kind"), type_="check")
        batch_op.create_check_constraint("kind", check)
    if _sqlite():
        _run(SQLITE_TRIGGERS)


def _uncounted(where: str, columns: list[str]) -> None:
    op.drop_index("ix_messages_uncounted", table_name="messages")
    op.create_index(
        "ix_messages_uncounted", "messages", columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
    )


def upgrade() -> None:
    op.add_column("messages", sa.Column("thread_seq", sa.Integer(), nullable=True))
    op.add_column("messages", sa.Column("updated_seq", sa.Integer(), server_default="0", nullable=False))
    op.add_column("messages", sa.Column("reply_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("messages", sa.Column("last_reply_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("messages", sa.Column("pinned_seq", sa.Integer(), nullable=True))
    op.add_column("messages", sa.Column("mention_ids", sa.Text(), nullable=True))
    op.add_column("messages", sa.Column("mentions_room", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("messages", sa.Column("reactions", sa.Text(), nullable=True))
    op.add_column("messages", sa.Column("detail", sa.Text(), nullable=True))
    op.execute("UPDATE messages SET updated_seq = seq")
    op.execute(
        """UPDATE messages SET updated_seq = (
            SELECT max(e.seq) FROM messages e WHERE e.room_id = messages.room_id AND e.target_seq = messages.seq)
        WHERE kind = 'message' AND EXISTS (
            SELECT 1 FROM messages e WHERE e.room_id = messages.room_id AND e.target_seq = messages.seq)"""
    )
    _kinds(KINDS)
    _uncounted(UNCOUNTED, ["room_id", "seq", "kind", "deleted", "thread_seq"])
    op.create_index(
        "ix_messages_replies",
        "messages",
        ["room_id", "thread_seq", "seq", "deleted", "user_id"],
        sqlite_where=sa.text("thread_seq IS NOT NULL"),
        postgresql_where=sa.text("thread_seq IS NOT NULL"),
    )
    op.create_index(
        "ix_messages_room_mentions",
        "messages",
        ["room_id", "thread_seq", "seq", "user_id", "mentions_room"],
        sqlite_where=sa.text("mentions_room"),
        postgresql_where=sa.text("mentions_room"),
    )
    op.create_index(
        "ix_messages_pinned",
        "messages",
        ["room_id", "pinned_seq"],
        sqlite_where=sa.text("pinned_seq IS NOT NULL"),
        postgresql_where=sa.text("pinned_seq IS NOT NULL"),
    )
    op.create_table(
        "reactions",
        sa.Column("message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("emoji", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_reactions_message_id_messages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_reactions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "emoji", "user_id", name=op.f("pk_reactions")),
    )
    op.create_index("ix_reactions_order", "reactions", ["message_id", "emoji", "seq"])
    op.create_table(
        "mentions",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("room_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("thread_seq", sa.Integer(), nullable=True),
        sa.Column("also_room", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_mentions_message_id_messages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_mentions_room_id_rooms"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_mentions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "message_id", name=op.f("pk_mentions")),
    )
    op.create_index("ix_mentions_unread", "mentions", ["user_id", "room_id", "thread_seq", "seq", "also_room"])
    op.create_table(
        "thread_markers",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("room_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("root_seq", sa.Integer(), nullable=False),
        sa.Column("last_read_seq", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_thread_markers_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_thread_markers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "room_id", "root_seq", name=op.f("pk_thread_markers")),
    )


def downgrade() -> None:
    op.drop_table("thread_markers")
    op.drop_index("ix_mentions_unread", table_name="mentions")
    op.drop_table("mentions")
    op.drop_index("ix_reactions_order", table_name="reactions")
    op.drop_table("reactions")
    op.drop_index("ix_messages_pinned", table_name="messages")
    op.drop_index("ix_messages_room_mentions", table_name="messages")
    op.drop_index("ix_messages_replies", table_name="messages")
    op.execute("DELETE FROM messages WHERE kind IN ('reaction', 'pin')")
    _uncounted(OLD_UNCOUNTED, ["room_id", "seq", "kind", "deleted"])
    _kinds(OLD_KINDS)
    for column in (
        "detail",
        "reactions",
        "mentions_room",
        "mention_ids",
        "pinned_seq",
        "last_reply_at",
        "reply_count",
        "updated_seq",
        "thread_seq",
    ):
        # In place (SQLite 3.35+), no copy that would lose the search triggers.
        op.execute(f"ALTER TABLE messages DROP COLUMN {column}")
