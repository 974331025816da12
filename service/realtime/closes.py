"""Why the server ends a socket, or one room's stream on a multiplexed socket: named once.

A close is (code, reason). On `/ws` a room that ends without the socket ending is
answered `unsubscribed` with the same reason."""

from __future__ import annotations

from service.transport.websocket import SHUTDOWN, SLOW

Close = tuple[int, str]

# Handshake and access
MISSING_TOKEN: Close = (1008, "missing token")
ORIGIN_NOT_ALLOWED: Close = (1008, "origin not allowed")
ROOM_NOT_FOUND: Close = (1008, "room not found")
INVALID_SINCE: Close = (1008, "invalid since")
TOKEN_EXPIRED: Close = (1008, "token expired")
TOKEN_REVOKED: Close = (1008, "token revoked")
REMOVED: Close = (1008, "removed from room")
ROOM_DELETED: Close = (1001, "room deleted")
# The server
INTERNAL_ERROR: Close = (1011, "internal error")
RESTARTING: Close = SHUTDOWN  # also what the protocol sends when uvicorn stops
SLOW_CONSUMER: Close = SLOW  # also what the protocol sends a socket the app did not watch
TOO_MANY: Close = (1013, "too many connections")

# The reason a multiplexed socket's room ended at the client's own request.
REQUESTED = "requested"


def policy(reason: str) -> Close:
    """A token or access failure: 1008 with the reason clients see."""
    return (1008, reason)
