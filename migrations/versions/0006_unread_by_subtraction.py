"""unread counts from what does not count: ix_messages_uncounted

Unread is the entries above a marker (the room's last_seq minus the marker, seq
being gapless) less the events and deleted messages among them, read from a
partial index that plain messages never enter. ix_messages_unread held an entry
per message, which cost every write one more index page per room and batch.
Markers are never below their member's own messages (0002 started them at each
room's end, and sending moves them), so no data changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = "kind = 'message' AND NOT deleted"
UNCOUNTED = "(kind <> 'message' OR deleted)"


# Plain CREATE/DROP INDEX, not batch mode: rebuilding messages on SQLite would drop
# the search triggers of 0004.
def upgrade() -> None:
    op.drop_index("ix_messages_unread", table_name="messages")
    op.create_index(
        "ix_messages_uncounted",
        "messages",
        ["room_id", "seq", "kind", "deleted"],
        sqlite_where=sa.text(UNCOUNTED),
        postgresql_where=sa.text(UNCOUNTED),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_uncounted", table_name="messages")
    op.create_index(
        "ix_messages_unread",
        "messages",
        ["room_id", "seq", "user_id", "kind", "deleted"],
        sqlite_where=sa.text(COUNTED),
        postgresql_where=sa.text(COUNTED),
    )
