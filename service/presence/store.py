"""The presence interface and its in-process implementation.

Users are kept as their encoded User object (JSON bytes), so presence frames are
built without decoding. The roster (realtime/roster.py) calls join for a user's first socket in a room
on this instance and leave for the last one; the store says whether that makes
the user appear or disappear in the room as a whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

# (room_id, user_id, user JSON)
Entry = tuple[int, int, bytes]
# (room_id, user_id, user JSON): a user who appeared in or left a room
Change = tuple[int, int, bytes]


class PresenceStore(Protocol):
    # Entries expire unless refreshed, and sweep() reports who left with a crashed instance.
    needs_upkeep: bool
    upkeep_seconds: float

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def join(self, room_id: int, user_id: int, user_json: bytes) -> bool:
        """This instance has the user's first socket in the room; True when the
        user was not online there before (announce a join)."""
        ...

    async def leave(self, room_id: int, user_id: int) -> bytes | None:
        """This instance closed the user's last socket in the room; the user's JSON
        when no other instance has one (announce a leave)."""
        ...

    async def online(self, room_id: int) -> list[bytes]: ...

    async def allow_typing(self, room_id: int, user_id: int) -> bool:
        """Whether the user's typing notice may be forwarded (one per 2 s per room)."""
        ...

    async def refresh(self, entries: Sequence[Entry]) -> list[Change]:
        """Keep this instance's entries alive; the ones that had expired are joins again."""
        ...

    async def sweep(self) -> list[Change]:
        """Remove expired entries; the users that left with them."""
        ...


class MemoryPresence:
    """One process: the roster's own bookkeeping is the whole truth, nothing expires,
    and its per-room typing throttle is the only one needed."""

    needs_upkeep = False
    upkeep_seconds = 0.0

    def __init__(self) -> None:
        self._rooms: dict[int, dict[int, bytes]] = {}

    async def connect(self) -> None:
        pass

    async def disconnect(self) -> None:
        pass

    async def join(self, room_id: int, user_id: int, user_json: bytes) -> bool:
        users = self._rooms.setdefault(room_id, {})
        if user_id in users:
            return False
        users[user_id] = user_json
        return True

    async def leave(self, room_id: int, user_id: int) -> bytes | None:
        users = self._rooms.get(room_id)
        if users is None:
            return None
        user_json = users.pop(user_id, None)
        if not users:
            del self._rooms[room_id]
        return user_json

    async def online(self, room_id: int) -> list[bytes]:
        return list(self._rooms.get(room_id, {}).values())

    async def allow_typing(self, room_id: int, user_id: int) -> bool:
        return True

    async def refresh(self, entries: Sequence[Entry]) -> list[Change]:
        return []

    async def sweep(self) -> list[Change]:
        return []
