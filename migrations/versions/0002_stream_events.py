"""edits and deletes in the stream, read markers

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = "kind = 'message' AND NOT deleted"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), server_default="message", nullable=False))
        batch_op.add_column(sa.Column("target_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.alter_column("body", existing_type=sa.Text(), nullable=True)
        batch_op.create_check_constraint("kind", "kind IN ('message', 'edit', 'delete')")
        batch_op.create_index(
            "ix_messages_unread",
            ["room_id", "seq", "user_id", "kind", "deleted"],
            unique=False,
            sqlite_where=sa.text(COUNTED),
            postgresql_where=sa.text(COUNTED),
        )
        batch_op.create_index(
            "ix_messages_target",
            ["room_id", "target_seq"],
            unique=False,
            sqlite_where=sa.text("target_seq IS NOT NULL"),
            postgresql_where=sa.text("target_seq IS NOT NULL"),
        )
    with op.batch_alter_table("room_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_read_seq", sa.Integer(), server_default="0", nullable=False))
    # Existing members have read what is there: markers start at each room's end.
    op.execute(
        "UPDATE room_members SET last_read_seq = (SELECT last_seq FROM rooms WHERE rooms.id = room_members.room_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("room_members", schema=None) as batch_op:
        batch_op.drop_column("last_read_seq")
    # Events have no place in the older schema, and deleted messages no body.
    op.execute("DELETE FROM messages WHERE kind <> 'message' OR deleted")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_target")
        batch_op.drop_index("ix_messages_unread")
        batch_op.drop_constraint(batch_op.f("ck_messages_kind"), type_="check")
        batch_op.alter_column("body", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("deleted")
        batch_op.drop_column("edited_at")
        batch_op.drop_column("target_seq")
        batch_op.drop_column("kind")
