"""Full-text search over the messages a user may read: SQLite FTS5 on the embedded
default, PostgreSQL full-text (tsvector, GIN) scaled out. Both index the words the
service finds in each message (words.py), stored with it by every write, so both
engines find the same messages; bounded in terms, time and rate (docs/protocol.md, "Search")."""
