from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from service.control import ControlEvent


class Receiver(Protocol):
    """What a broker hands on: everything published on the control channel and on
    the rooms this instance subscribed to, its own publishes included."""

    def on_message(self, room_id: int, seq: int, published_at: float, frame: str) -> None:
        """A stored entry's frame, in whatever order and as often as the broker brings it."""

    def on_ephemeral(self, room_id: int, exclude_user: int | None, frame: str) -> None:
        """A presence or typing frame, for everyone in the room but `exclude_user`."""

    def on_control(self, event: ControlEvent) -> None: ...

    def on_resync(self) -> None:
        """The broker reconnected: anything published meanwhile may be missing."""


class Broker(Protocol):
    """Publish/subscribe between instances, at most once and possibly reordered:
    the feeds restore order and fill gaps from the database. What is published
    reaches the `Receiver` of every instance subscribed to the room (control
    events: every instance)."""

    async def connect(self, receiver: Receiver) -> None:
        """Start handing on to `receiver`; control events from here on."""

    async def disconnect(self) -> None: ...

    async def subscribe(self, room_id: int) -> None:
        """Returns once the room's publishes from now on will be handed on."""

    async def unsubscribe(self, room_id: int) -> None: ...

    async def publish_messages(self, messages: Sequence[tuple[int, int, str]]) -> None:
        """(room, seq, frame) of stored entries, in order, in one round trip where the broker can."""

    async def publish_ephemeral(self, room_id: int, frame: str, exclude_user: int | None) -> None: ...

    async def publish_control(self, events: Sequence[ControlEvent]) -> None:
        """In order, in one round trip where the broker can."""

    async def ping(self) -> bool:
        """Whether the broker is reachable and every subscription is live."""
        ...
