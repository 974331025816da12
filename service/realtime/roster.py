"""Who is online in each room, and typing notices: the ephemeral side of a room.

The presence store (service/presence: in-process, or Redis across instances) is
told about a user's first and last subscription per room on this instance, and
what it reports as joins and leaves is announced to the room. Typing notices go
to the room's other users, at most one per user per room every 2 s."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from service.presence import PresenceStore
from service.realtime import server_frames
from service.realtime.connection import Connection
from service.realtime.feed import RoomFeed
from service.realtime.subscription import Subscription

log = logging.getLogger("service.realtime")

# Typing notices forwarded per user per room, at most one per this many seconds.
TYPING_INTERVAL_SECONDS = 2.0

# (room id, frame, user not to deliver to) -> published to the room
PublishEphemeral = Callable[[int, str, int | None], Awaitable[None]]


class Roster:
    def __init__(self, store: PresenceStore, feeds: Mapping[int, RoomFeed], publish: PublishEphemeral) -> None:
        self._store = store
        self._feeds = feeds
        self._publish = publish
        self._user_json: dict[int, bytes] = {}  # for users subscribed to a room here
        # Presence calls in the order subscriptions began and ended.
        self._lock = asyncio.Lock()

    def seen(self, user_id: int, user_json: bytes) -> None:
        self._user_json[user_id] = user_json

    def gone(self, user_id: int) -> None:
        """The user has no socket here any more."""
        self._user_json.pop(user_id, None)

    async def online(self, room_id: int) -> list[bytes]:
        """Users with a socket in the room on any instance (this one's, if the store fails)."""
        try:
            return await self._store.online(room_id)
        except Exception as exc:
            log.warning("reading presence failed (%s); answering with this instance's users", exc)
            feed = self._feeds.get(room_id)
            return [] if feed is None else [self._user_json[u] for u in feed.users if u in self._user_json]

    async def changed(self, room_id: int, user_id: int, user_json: bytes | None) -> None:
        """`user_json`: the user's first subscription to the room here began; None: their last ended."""
        try:
            # Announced under the lock too, so joins and leaves go out in the order they happened.
            async with self._lock:
                if user_json is not None:
                    announce = user_json if await self._store.join(room_id, user_id, user_json) else None
                else:
                    announce = await self._store.leave(room_id, user_id)
                if announce is not None:
                    await self._announce(room_id, user_id, "join" if user_json is not None else "leave", announce)
        except Exception as exc:
            # Messages flow on; the upkeep (or the entry's expiry) puts presence right.
            log.warning("updating presence in room %s failed: %s", room_id, exc)

    async def _announce(self, room_id: int, user_id: int, event: str, user_json: bytes) -> None:
        # Not to the user: a join comes from their first socket, which has `online`
        # in its welcome; a leave, from their last.
        await self._publish(room_id, server_frames.presence_frame(event, user_json), user_id)

    async def typing(self, sub: Subscription[Connection]) -> None:
        """Forward a typing notice to the room's other users, one per user per 2 s."""
        feed = self._feeds.get(sub.room_id)
        if feed is None:
            return
        now = time.monotonic()
        if now - feed.typing_at.get(sub.user_id, -TYPING_INTERVAL_SECONDS) < TYPING_INTERVAL_SECONDS:
            return
        feed.typing_at[sub.user_id] = now
        try:
            if await self._store.allow_typing(sub.room_id, sub.user_id):
                await self._publish(sub.room_id, server_frames.typing_frame(sub.conn.user_json), sub.user_id)
        except Exception as exc:
            log.warning("forwarding a typing notice failed: %s", exc)

    async def keep(self) -> None:
        """Refresh this instance's entries in the store, and announce what expired elsewhere."""
        while True:
            await asyncio.sleep(self._store.upkeep_seconds)
            try:
                async with self._lock:
                    # A user whose last socket is on its way out may be gone from _user_json already.
                    entries = [
                        (feed.room_id, user_id, user_json)
                        for feed in self._feeds.values()
                        for user_id in feed.users
                        if (user_json := self._user_json.get(user_id)) is not None
                    ]
                    for room_id, user_id, user_json in await self._store.refresh(entries):
                        await self._announce(room_id, user_id, "join", user_json)
                    for room_id, user_id, user_json in await self._store.sweep():
                        await self._announce(room_id, user_id, "leave", user_json)
            except Exception as exc:
                log.warning("refreshing presence failed: %s", exc)
