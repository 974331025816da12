"""search indexes the words the service finds, alike on both engines

Each engine split a body its own way: PostgreSQL's parser kept an e-mail
address, a URL, a path or a version number as one token, and its classes and
case follow the database's locale; SQLite's unicode61 knows the Unicode of 2012.
So the same query found different messages on each. Now the service computes a
message's words (service/search/words.py) into messages.search_text, and the
engines index that text as it is, splitting at its spaces only:

- SQLite: the FTS5 table indexes search_text with the `ascii` tokenizer (ASCII
  punctuation separates, every other character belongs to its word, ASCII case
  folds: the words are folded already).
- PostgreSQL: the generated tsvector is built from search_text's words without
  the text-search parser, by message_search_vector(), which needs no locale.

Existing messages get their words here, a few thousand rows at a time.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.search.words import searchable

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000

SQLITE_INDEX = [
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
        search_text, content='messages', content_rowid='id', tokenize='ascii', prefix='2 3')""",
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
    "INSERT INTO messages_fts (rowid, search_text) SELECT id, search_text FROM messages WHERE search_text IS NOT NULL",
]
SQLITE_DROP = [
    "DROP TRIGGER messages_fts_delete",
    "DROP TRIGGER messages_fts_update",
    "DROP TRIGGER messages_fts_insert",
    "DROP TABLE messages_fts",
]
# 0004's index of the bodies, for the downgrade.
SQLITE_BODY_INDEX = [
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

# Words one space apart -> a tsvector of them at their positions. A tsvector literal
# takes its lexemes as they are; the words hold only letters, digits and marks (no
# quote or backslash), at most 500 characters (words.MAX_WORD_CHARS: under the
# 2,047-byte lexeme limit). Positions past 16,383 share the last one, as in to_tsvector.
POSTGRES_INDEX = [
    """CREATE FUNCTION message_search_vector(words text) RETURNS tsvector
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN (SELECT coalesce(string_agg('''' || w || ''':' || least(n, 16383), ' '), '')::tsvector
                FROM unnest(string_to_array(words, ' ')) WITH ORDINALITY AS t(w, n) WHERE w <> '')""",
    """ALTER TABLE messages ADD COLUMN search tsvector
        GENERATED ALWAYS AS (message_search_vector(search_text)) STORED""",
    "CREATE INDEX ix_messages_search ON messages USING gin (search) WHERE search IS NOT NULL",
]
POSTGRES_DROP = [
    "DROP INDEX ix_messages_search",
    "ALTER TABLE messages DROP COLUMN search",
    "DROP FUNCTION message_search_vector(text)",
]
# 0004's index of the bodies, for the downgrade.
POSTGRES_BODY_INDEX = [
    """ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
        CASE WHEN kind = 'message' AND body IS NOT NULL THEN to_tsvector('simple'::regconfig, body) END
    ) STORED""",
    "CREATE INDEX ix_messages_search ON messages USING gin (search) WHERE search IS NOT NULL",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def _fill_search_text() -> None:
    """Every message that has a body gets its words, in batches by id."""
    conn = op.get_bind()
    read = sa.text(
        "SELECT id, body FROM messages WHERE kind = 'message' AND body IS NOT NULL AND id > :after ORDER BY id LIMIT :n"
    )
    write = sa.text("UPDATE messages SET search_text = :words WHERE id = :id")
    after = 0
    while rows := conn.execute(read, {"after": after, "n": BATCH}).all():
        conn.execute(write, [{"id": message_id, "words": searchable(body)} for message_id, body in rows])
        after = rows[-1][0]


def upgrade() -> None:
    sqlite = op.get_context().dialect.name == "sqlite"
    _run(SQLITE_DROP if sqlite else ["DROP INDEX ix_messages_search", "ALTER TABLE messages DROP COLUMN search"])
    op.add_column("messages", sa.Column("search_text", sa.Text(), nullable=True))
    _fill_search_text()
    _run(SQLITE_INDEX if sqlite else POSTGRES_INDEX)


def downgrade() -> None:
    sqlite = op.get_context().dialect.name == "sqlite"
    _run(SQLITE_DROP if sqlite else POSTGRES_DROP)
    # SQLite drops a column in place since 3.35; no table copy (which would lose the triggers).
    op.execute("ALTER TABLE messages DROP COLUMN search_text")
    _run(SQLITE_BODY_INDEX if sqlite else POSTGRES_BODY_INDEX)
