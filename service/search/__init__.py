"""Full-text search over the messages a user may read: SQLite FTS5 on the embedded
default, PostgreSQL full-text (tsvector, GIN) scaled out; both kept in step with
every insert, edit and delete by the database itself (migration 0004)."""
