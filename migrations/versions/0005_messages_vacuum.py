"""PostgreSQL: vacuum messages every 10,000 inserts

Unread counts read ix_messages_unread alone only on pages the visibility map marks
all-visible, and only vacuum marks them. By default an insert-only table is
vacuumed after 20% of its size in new rows: on a large store the newest rows,
where unread messages are, would wait for millions of inserts and cost a heap
visit each. SQLite has no such map: nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSERT_THRESHOLD = 10_000


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE messages SET (autovacuum_vacuum_insert_scale_factor = 0, "
            f"autovacuum_vacuum_insert_threshold = {INSERT_THRESHOLD})"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE messages RESET (autovacuum_vacuum_insert_scale_factor, autovacuum_vacuum_insert_threshold)"
        )
