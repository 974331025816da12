"""Chat service: authenticated, multi-room, persistent real-time chat."""
