"""What one instance has read of a room's access, so sockets joining the room need
not ask the database again while its feed is open.

Forgotten on every change this instance hears of (control_events.py: a member
removed, the room changed or deleted, the broker reconnected), and at the latest
RECHECK_SECONDS after it was read: a change whose control event never reached
this instance holds for new sockets within that bound. A read that began before
a change arrived is not kept (`generation`)."""

from __future__ import annotations

import time

from service.rooms.models import Room

RECHECK_SECONDS = 60.0


class KnownAccess:
    __slots__ = ("generation", "_room", "_room_at", "_readers")

    def __init__(self) -> None:
        self.generation = 0  # moves on every change heard of
        self._room: Room | None = None  # the row as read (its last_seq is not kept up to date)
        self._room_at = 0.0
        self._readers: dict[int, float] = {}  # user_id -> when their access to the private room was read

    def room_for(self, user_id: int, is_admin: bool) -> Room | None:
        """The room, if what was read says the user may read it."""
        room = self._room
        oldest = time.monotonic() - RECHECK_SECONDS
        if room is None or self._room_at < oldest:
            return None
        if room.private and not is_admin and self._readers.get(user_id, 0.0) < oldest:
            return None
        return room

    def read(self, room: Room, user_id: int | None, generation: int) -> None:
        """The room as read at `generation` (and that the user may read it); kept
        unless a change came since."""
        if generation != self.generation:
            return
        now = time.monotonic()
        self._room, self._room_at = room, now
        if room.private and user_id is not None:
            self._readers[user_id] = now

    def forget(self, user_id: int | None = None) -> None:
        """The user lost access (with None: the room changed); read it again."""
        self.generation += 1
        if user_id is None:
            self._room = None
            self._readers.clear()
        else:
            self._readers.pop(user_id, None)
