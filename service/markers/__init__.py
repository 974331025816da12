"""Read markers and unread counts: how far each member has read in each room."""
