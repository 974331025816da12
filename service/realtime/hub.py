"""The instance's live side, composed once and started and stopped together; only
the composition root (main.py) uses it, and hands each part to whoever needs it.

- registry.py: the sockets here, their caps and revocations;
- feeds.py: the room feeds open here, opened and closed with their subscriptions;
- roster.py: presence per room and typing notices;
- fanout.py: a room's traffic published after commit and handed back to its feed;
- control_events.py: control events published, and applied to the sockets here;
- lost_publishes.py: how a feed learns of an entry whose publish never came.

What the broker hands back goes to the fan-out (room traffic) and to the control
events (the control channel, and a resync)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.config import Settings
from service.control import ControlEvent
from service.metrics import Metrics
from service.presence import PresenceStore
from service.realtime.broker import Broker
from service.realtime.control_events import ControlEvents
from service.realtime.fanout import FanOut
from service.realtime.feed import RoomFeed
from service.realtime.feeds import Feeds
from service.realtime.lost_publishes import LossWatch
from service.realtime.registry import Registry
from service.realtime.roster import Roster
from service.realtime.tasks import Tasks


@dataclass(frozen=True, slots=True)
class _Receiving:
    """The broker's Receiver, made of the parts' own methods: a message reaches
    the fan-out with no call in between."""

    on_message: Callable[[int, int, float, str], None]
    on_ephemeral: Callable[[int, int | None, str], None]
    on_control: Callable[[ControlEvent], None]
    on_resync: Callable[[], None]


class Hub:
    def __init__(
        self,
        broker: Broker,
        presence: PresenceStore,
        reads: async_sessionmaker[AsyncSession],  # read-only: the live side never writes
        settings: Settings,
        metrics: Metrics,
        read_thread_engine: Engine | None = None,  # a SQLite file's WAL readers (feed_starts.py)
    ) -> None:
        self.broker = broker
        self.presence = presence
        self.registry = Registry(settings, metrics)
        self._tasks = Tasks()
        open_feeds: dict[int, RoomFeed] = {}
        self.losses = LossWatch(open_feeds, reads, broker, metrics, settings.lost_publish_sweep_seconds)
        self.fanout = FanOut(broker, open_feeds, self.losses, metrics)
        self.roster = Roster(presence, open_feeds, self.fanout.publish_ephemeral)
        self.feeds = Feeds(
            open_feeds, broker, reads, metrics, self.registry, self.roster, self._tasks, read_thread_engine
        )
        self.control = ControlEvents(broker, self.registry, self.feeds, reads, self.losses, metrics, self._tasks)

    async def start(self) -> None:
        fanout, control = self.fanout, self.control
        await self.broker.connect(_Receiving(fanout.on_message, fanout.on_ephemeral, control.apply, control.resynced))
        await self.presence.connect()
        await self.losses.tell_peers()
        self._tasks.spawn(self.losses.run())
        if self.presence.needs_upkeep:
            self._tasks.spawn(self.roster.keep())

    async def stop(self) -> None:
        await self.registry.drain(timeout=5)
        self.feeds.close_all()
        await self._tasks.cancel()
        await self.broker.disconnect()
        await self.presence.disconnect()
