"""direct conversations: rooms.kind and one room per pair of users

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), server_default="room", nullable=False))
        batch_op.add_column(sa.Column("direct_key", sa.String(length=64), nullable=True))
        batch_op.alter_column("name_key", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_rooms_direct_key"), ["direct_key"])
        batch_op.create_check_constraint("kind", "kind IN ('room', 'direct')")


def downgrade() -> None:
    # Direct conversations have no place in the older schema.
    op.execute("DELETE FROM rooms WHERE kind = 'direct'")
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_rooms_kind"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_rooms_direct_key"), type_="unique")
        batch_op.alter_column("name_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("direct_key")
        batch_op.drop_column("kind")
