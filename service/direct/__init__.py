"""Direct conversations: one private room per pair of users, its two members fixed."""
