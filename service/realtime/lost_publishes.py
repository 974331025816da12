"""Lost publishes: how an open feed learns of an entry committed in its room whose
publish never reached this instance, without asking the database about every
open room every second (that alone took a core at about 50,000 open rooms).

A publish is lost in one of these ways, each with its own remedy:

- This instance's subscription to the broker broke: the broker resubscribes and
  says so (RESYNC), and every open feed is checked at the next tick.
- The publishing instance could not publish (the broker was away for it, not for
  its subscribers): it delivers locally, keeps the rooms, and once the broker
  takes its publishes again tells every instance which rooms are behind
  (`StreamsBehind`, on the control channel).
- The publishing instance died between its commit and its publish: every instance
  says it is alive each HEARTBEAT_SECONDS (`InstanceAlive`); one not heard of for
  PEER_LOST_SECONDS is taken for dead, and every open feed is checked once.
- Anything else (a publisher stalled past PEER_LOST_SECONDS that then died, a
  bug): a sweep checks each open feed once per `sweep_seconds`
  (CHAT_LOST_PUBLISH_SWEEP_SECONDS, 60), a slice a tick.

A check reads rooms.last_seq for up to CHECK_CHUNK feeds in one query. A feed the
sweep finds behind is checked again at the next tick and caught up only if it is
still behind what was committed then (a late publish is not a lost one); after a
RESYNC, a peer's death or a StreamsBehind, a feed behind is caught up at once.

So an entry whose publish was lost reaches the open sockets of its room within
2 x HEARTBEAT_SECONDS of the broker's return, PEER_LOST_SECONDS + 2 x
HEARTBEAT_SECONDS of its publisher's death, and `sweep_seconds` + 2 x
HEARTBEAT_SECONDS whatever happened. A message that is published late, or whose
successor is published, is filled in by the feed itself (feed.py) within a gap
wait. In-process (one instance, no broker) a publish cannot be lost; the sweep
still runs."""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import tables
from service.control import InstanceAlive, StreamsBehind
from service.metrics import Metrics
from service.realtime.broker import Broker
from service.realtime.feed import RoomFeed

log = logging.getLogger("service.realtime")

HEARTBEAT_SECONDS = 1.0
PEER_LOST_SECONDS = 3.0
CHECK_CHUNK = 500
FAILED_ROOMS_MAX = 10_000  # more rooms than this behind: every instance checks all

# Why feeds are checked (the reason label of chat_lost_publish_catch_ups).
RESYNC, STREAMS_BEHIND, PEER_LOST, SWEEP = "resync", "streams_behind", "peer_lost", "sweep"

_rooms = tables.rooms
_LAST_SEQS = select(_rooms.c.id, _rooms.c.last_seq).where(_rooms.c.id.in_(bindparam("ids", expanding=True)))


class LossWatch:
    def __init__(
        self,
        feeds: dict[int, RoomFeed],
        sessionmaker: async_sessionmaker[AsyncSession],
        broker: Broker,
        metrics: Metrics,
        sweep_seconds: float,
    ) -> None:
        self.instance = secrets.token_hex(8)
        self._sweep_seconds = sweep_seconds
        self._sweep_credit = 0.0  # feeds the sweep may check now, fractions carried over
        self._metrics = metrics
        self._feeds = feeds
        self._sessionmaker = sessionmaker
        self._broker = broker
        self._peers: dict[str, float] = {}  # instance -> when it was last heard of
        self._failed: set[int] = set()  # rooms this instance could not publish to
        self._failed_all = False
        self._behind: set[int] = set()  # rooms another instance could not publish to
        self._check_all: str | None = None  # why every open feed is to be checked
        self._suspects: dict[int, int] = {}  # room -> what was committed when a check found its feed behind
        self._round: list[int] = []  # rooms the sweep's current round has yet to check

    # Told by the fan-out and the control events ----------------------------------

    def publish_failed(self, room_ids: Iterable[int]) -> None:
        self._failed.update(room_ids)
        if len(self._failed) > FAILED_ROOMS_MAX:
            self._failed.clear()
            self._failed_all = True

    def resynced(self) -> None:
        self._check_all = RESYNC

    def heard(self, event: InstanceAlive | StreamsBehind) -> None:
        if event.instance == self.instance:
            return  # what this instance could not publish, it delivered here
        self._peers[event.instance] = time.monotonic()
        self._metrics.peer_instances.set(len(self._peers))
        if isinstance(event, StreamsBehind):
            if event.rooms is None:
                self._check_all = STREAMS_BEHIND
            else:
                self._behind.update(event.rooms)

    # Every tick -------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.tick()
            except Exception:
                log.exception("checking room feeds for lost publishes failed")

    async def tick(self) -> None:
        await self.tell_peers()
        self._notice_lost_peers()
        if self._check_all is not None:
            reason, self._check_all = self._check_all, None
            self._behind.clear()
            await self._check(list(self._feeds), reason)
        elif self._behind:
            rooms, self._behind = self._behind, set()
            await self._check(rooms, STREAMS_BEHIND)
        suspects, self._suspects = self._suspects, {}
        await self._check(self._sweep_slice() | suspects.keys(), SWEEP, suspects)

    async def tell_peers(self) -> None:
        """That this instance is alive, and the rooms it could not publish to; at
        start too, so peers know of it from its first commit. In-process the news
        comes back to this instance alone, which knows it (`heard`)."""
        events: list[InstanceAlive | StreamsBehind] = [InstanceAlive(self.instance)]
        failed, failed_all = self._failed, self._failed_all
        if failed or failed_all:
            events.append(StreamsBehind(self.instance, None if failed_all else tuple(sorted(failed))))
            self._failed, self._failed_all = set(), False
        try:
            await self._broker.publish_control(events)
        except Exception as exc:
            log.debug("telling other instances failed (%s); next tick", exc)
            self._failed |= failed
            self._failed_all |= failed_all

    def _notice_lost_peers(self) -> None:
        oldest = time.monotonic() - PEER_LOST_SECONDS
        lost = [peer for peer, seen in self._peers.items() if seen < oldest]
        for peer in lost:
            del self._peers[peer]
            self._metrics.instances_lost.inc()
            log.warning("instance %s not heard of for %.0f s: checking every open room", peer, PEER_LOST_SECONDS)
        if lost:
            self._metrics.peer_instances.set(len(self._peers))
            self._check_all = PEER_LOST

    def _sweep_slice(self) -> set[int]:
        if not self._round:
            self._round = list(self._feeds)
        self._sweep_credit += len(self._feeds) * HEARTBEAT_SECONDS / self._sweep_seconds
        size = min(len(self._round), math.floor(self._sweep_credit))
        self._sweep_credit -= size
        taken = self._round[-size:] if size else []
        del self._round[len(self._round) - len(taken) :]
        return set(taken)

    async def _check(self, room_ids: Iterable[int], reason: str, previous: dict[int, int] | None = None) -> None:
        """Catch up the feeds behind the database: at once, or for the sweep when
        still behind what was committed at the check before (`previous`)."""
        at_once, previous = reason != SWEEP, previous or {}
        feeds = [f for r in room_ids if (f := self._feeds.get(r)) is not None and f.positioned and not f.closed]
        for start in range(0, len(feeds), CHECK_CHUNK):
            chunk = feeds[start : start + CHECK_CHUNK]
            async with self._sessionmaker() as session:
                rows = await session.execute(_LAST_SEQS, {"ids": [f.room_id for f in chunk]})
                latest: dict[int, int] = {room_id: last_seq for room_id, last_seq in rows.all()}
            for feed in chunk:
                committed = latest.get(feed.room_id, 0)
                if committed > feed.last_seq and (at_once or feed.last_seq < previous.get(feed.room_id, 0)):
                    await feed.catch_up()
                    self._metrics.lost_publish_catch_ups.labels(reason).inc()
                    committed = feed.last_seq
                if committed > feed.last_seq:
                    self._suspects[feed.room_id] = committed
                else:
                    self._suspects.pop(feed.room_id, None)
