from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from service.control import ControlEvent
from service.realtime.broker.base import Receiver

log = logging.getLogger("service.realtime")


class MemoryBroker:
    """One process, so no one else to tell: a room's messages and ephemeral frames
    go straight to the receiver, within the publisher's call (nothing encoded,
    nothing queued). Control events follow a turn of the loop later, in publish
    order, as from a broker: applying one is never part of the call that published
    it. A receiver's failure is logged, as a broker's listener would log it."""

    def __init__(self) -> None:
        self._receiver: Receiver | None = None

    async def connect(self, receiver: Receiver) -> None:
        self._receiver = receiver

    async def disconnect(self) -> None:
        self._receiver = None

    async def subscribe(self, room_id: int) -> None:
        pass  # every room's publishes are handed on: the receiver knows its open rooms

    async def unsubscribe(self, room_id: int) -> None:
        pass

    async def ping(self) -> bool:
        return True

    async def publish_messages(self, messages: Sequence[tuple[int, int, str]]) -> None:
        receiver = self._receiver
        if receiver is not None:
            for room_id, seq, frame in messages:
                try:
                    receiver.on_message(room_id, seq, time.time(), frame)
                except Exception:
                    log.exception("delivering a message in room %s failed", room_id)

    async def publish_ephemeral(self, room_id: int, frame: str, exclude_user: int | None) -> None:
        if self._receiver is None:
            return
        try:
            self._receiver.on_ephemeral(room_id, exclude_user, frame)
        except Exception:
            log.exception("delivering an ephemeral frame in room %s failed", room_id)

    async def publish_control(self, events: Sequence[ControlEvent]) -> None:
        loop = asyncio.get_running_loop()
        for event in events:
            loop.call_soon(self._control, event)

    def _control(self, event: ControlEvent) -> None:
        if self._receiver is None:
            return  # disconnected meanwhile
        try:
            self._receiver.on_control(event)
        except Exception:
            log.exception("applying a control event failed")
