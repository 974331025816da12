"""The in-process broker alone (no server): room traffic reaches the receiver
within the publish call, control events a turn of the loop later."""

from __future__ import annotations

import asyncio

from service.control import ControlEvent, RoomChanged, TokenRevoked
from service.realtime.broker import MemoryBroker


class Recorder:
    def __init__(self) -> None:
        self.got: list[tuple[object, ...]] = []

    def on_message(self, room_id: int, seq: int, published_at: float, frame: str) -> None:
        self.got.append(("message", room_id, seq, frame))

    def on_ephemeral(self, room_id: int, exclude_user: int | None, frame: str) -> None:
        self.got.append(("ephemeral", room_id, exclude_user, frame))

    def on_control(self, event: ControlEvent) -> None:
        self.got.append(("control", event))

    def on_resync(self) -> None:
        self.got.append(("resync",))


async def test_room_traffic_is_handed_on_within_the_publish() -> None:
    broker, receiver = MemoryBroker(), Recorder()
    await broker.connect(receiver)
    await broker.publish_messages([(1, 1, "a"), (2, 1, "b"), (1, 2, "c")])
    await broker.publish_ephemeral(1, "typing", 5)
    assert receiver.got == [
        ("message", 1, 1, "a"),
        ("message", 2, 1, "b"),
        ("message", 1, 2, "c"),
        ("ephemeral", 1, 5, "typing"),
    ]


async def test_control_events_follow_in_order_after_the_publish_returns() -> None:
    broker, receiver = MemoryBroker(), Recorder()
    await broker.connect(receiver)
    await broker.publish_control([TokenRevoked("j")])
    await broker.publish_control([RoomChanged(3)])
    assert receiver.got == []
    await asyncio.sleep(0)
    assert receiver.got == [("control", TokenRevoked("j")), ("control", RoomChanged(3))]


async def test_a_failing_receiver_is_not_the_publishers_failure() -> None:
    broker, receiver = MemoryBroker(), Recorder()

    def broken(room_id: int, seq: int, published_at: float, frame: str) -> None:
        raise RuntimeError("a bug in delivery")

    receiver.on_message = broken  # type: ignore[method-assign]
    await broker.connect(receiver)
    await broker.publish_messages([(1, 1, "a")])  # logged, not raised


async def test_nothing_is_handed_on_after_disconnect() -> None:
    broker, receiver = MemoryBroker(), Recorder()
    await broker.connect(receiver)
    await broker.publish_control([RoomChanged(1)])
    await broker.disconnect()
    await broker.publish_messages([(1, 1, "a")])
    await asyncio.sleep(0)
    assert receiver.got == []
