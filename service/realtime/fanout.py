"""A room's traffic between instances: published after commit, and handed back by
the broker to the room's feed here (feed.py), which delivers in seq order.

Presence and typing frames (roster.py) take the same way but are not stored or
sequenced: they reach whoever is in the room when they arrive. With the broker
away, what was stored is still delivered here, and the other instances are told
to read it (lost_publishes.py); an ephemeral frame reaches this instance only."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from service.messages import stream_frames
from service.messages.entries import StreamEvent
from service.metrics import Metrics
from service.realtime.broker import Broker
from service.realtime.feed import RoomFeed
from service.realtime.lost_publishes import LossWatch

log = logging.getLogger("service.realtime")


class FanOut:
    def __init__(self, broker: Broker, feeds: Mapping[int, RoomFeed], losses: LossWatch, metrics: Metrics) -> None:
        self._broker = broker
        self._feeds = feeds  # the feeds open here (feeds.py)
        self._losses = losses
        self._metrics = metrics

    # Publishing --------------------------------------------------------------------

    async def publish_stored(self, events: Sequence[StreamEvent]) -> None:
        """After commit: each event's frame, encoded once, to its room; a stored
        batch in one round trip to the broker."""
        messages = [(event.room_id, event.seq, stream_frames.stream_frame(event)) for event in events]
        try:
            await self._broker.publish_messages(messages)
        except Exception as exc:
            # Stored already: deliver here; other instances are told to read it (lost_publishes.py).
            log.warning("publishing to the broker failed (%s); delivering locally", exc)
            self._losses.publish_failed(room_id for room_id, _, _ in messages)
            for room_id, seq, frame in messages:
                self.on_message(room_id, seq, time.time(), frame)

    async def publish_ephemeral(self, room_id: int, frame: str, exclude_user: int | None = None) -> None:
        try:
            await self._broker.publish_ephemeral(room_id, frame, exclude_user)
        except Exception as exc:
            log.warning("publishing to the broker failed (%s); delivering locally", exc)
            self.on_ephemeral(room_id, exclude_user, frame)

    # Handed back by the broker (its Receiver, with control_events.py) ------------------

    def on_message(self, room_id: int, seq: int, published_at: float, frame: str) -> None:
        self._metrics.fanout_seconds.observe(max(0.0, time.time() - published_at))
        feed = self._feeds.get(room_id)
        if feed is not None:
            feed.offer(seq, frame)

    def on_ephemeral(self, room_id: int, exclude_user: int | None, frame: str) -> None:
        feed = self._feeds.get(room_id)
        if feed is not None:
            feed.deliver_ephemeral(frame, exclude_user)
