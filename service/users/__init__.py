"""The user directory: finding other users by the start of their name."""
