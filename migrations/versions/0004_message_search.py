"""full-text search over messages, kept in step by the database

SQLite: an external-content FTS5 table fed by triggers. PostgreSQL: a generated
tsvector column ('simple': no language's stemming or stop words) with a GIN index.
Either way an insert, edit or delete changes the index in its own transaction.
Existing messages are indexed here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
        body, content='messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0', prefix='2 3')""",
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN new.kind = 'message' AND new.body IS NOT NULL BEGIN
        INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
    END""",
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages
        WHEN old.kind = 'message' BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body)
            SELECT 'delete', old.id, old.body WHERE old.body IS NOT NULL;
        INSERT INTO messages_fts (rowid, body) SELECT new.id, new.body WHERE new.body IS NOT NULL;
    END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
        WHEN old.kind = 'message' AND old.body IS NOT NULL BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END""",
    "INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages WHERE kind = 'message' AND body IS NOT NULL",
]
SQLITE_DOWN = [
    "DROP TRIGGER messages_fts_delete",
    "DROP TRIGGER messages_fts_update",
    "DROP TRIGGER messages_fts_insert",
    "DROP TABLE messages_fts",
]
POSTGRES_UP = [
    """ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
        CASE WHEN kind = 'message' AND body IS NOT NULL THEN to_tsvector('simple'::regconfig, body) END
    ) STORED""",
    "CREATE INDEX ix_messages_search ON messages USING gin (search) WHERE search IS NOT NULL",
]
POSTGRES_DOWN = ["DROP INDEX ix_messages_search", "ALTER TABLE messages DROP COLUMN search"]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(SQLITE_UP if op.get_context().dialect.name == "sqlite" else POSTGRES_UP)


def downgrade() -> None:
    _run(SQLITE_DOWN if op.get_context().dialect.name == "sqlite" else POSTGRES_DOWN)
