"""Room names unique among public rooms only

A private room's name conflicted with every other room's, so creating or
renaming a room to it answered 409 while the private room itself stayed 404:
an outsider could confirm a guessed name. The unique constraint on
rooms.name_key becomes a unique index over public rooms. Downgrading fails
while two rooms share a name.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC = sa.text("NOT private")


def upgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_constraint("uq_rooms_name_key", type_="unique")
    op.create_index(
        "uq_rooms_public_name_key",
        "rooms",
        ["name_key"],
        unique=True,
        sqlite_where=PUBLIC,
        postgresql_where=PUBLIC,
    )


def downgrade() -> None:
    op.drop_index("uq_rooms_public_name_key", table_name="rooms")
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_rooms_name_key", ["name_key"])
