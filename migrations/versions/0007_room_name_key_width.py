"""rooms.name_key wide enough for any 64-character name once case-folded

Room names are unique ignoring case, kept on name.casefold(), which can be longer
than the name: ß folds to ss, and no character folds to more than three. A
64-character name could need more than the column's 64 characters, which
PostgreSQL refused. Widening changes no data; narrowing back fails while a longer
key is stored.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=64), type_=sa.String(length=192))


def downgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=192), type_=sa.String(length=64))
