"""files: uploads, their uploader, the message they are attached to, and where their bytes are

Bytes live in storage (a local directory or S3) under `storage_key`, never in the
database. The partial index serves the orphan sweep (files never attached).

Downgrade drops the table; the bytes it pointed at stay in storage.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNATTACHED = "message_id IS NULL AND deleted_at IS NULL"
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("uploader_id", BigIntPK, nullable=False),
        sa.Column("message_id", BigIntPK, nullable=True),
        sa.Column("room_id", BigIntPK, nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("thumbnail_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["users.id"], name=op.f("fk_files_uploader_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_files_message_id_messages"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_files_room_id_rooms"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_uploader_id"), ["uploader_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_files_message_id"), ["message_id"], unique=False)
        batch_op.create_index(
            "ix_files_unattached_created_at",
            ["created_at"],
            unique=False,
            sqlite_where=sa.text(UNATTACHED),
            postgresql_where=sa.text(UNATTACHED),
        )


def downgrade() -> None:
    op.drop_table("files")
