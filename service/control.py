"""Control events: access that began or ended, told to every instance for the sockets
concerned; and the instances' own news of each other (alive, streams behind).

Access events are produced by the REST side (auth, rooms) and applied by the
realtime side (realtime/control_events.py); kept here so neither package imports
the other for them. On the wire: realtime/envelope.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class TokenRevoked:
    """Logout: the sockets opened with one access token."""

    jti: str


@dataclass(frozen=True, slots=True)
class FamilyRevoked:
    """Logout or refresh-token theft: the sockets of every access token of one login."""

    family_id: str


@dataclass(frozen=True, slots=True)
class MemberRemoved:
    """The user's sockets leave the room; those of its readers are told."""

    room_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class RoomDeleted:
    room_id: int


@dataclass(frozen=True, slots=True)
class RoomChanged:
    """The room's name or description changed: instances read it again for new sockets,
    and tell the /ws sockets of those who may list it (`room_updated`)."""

    room_id: int


@dataclass(frozen=True, slots=True)
class RoomAdded:
    """The user became a member: their multiplexed sockets are told, so clients may
    subscribe; so are the room's readers."""

    user_id: int
    room_id: int


@dataclass(frozen=True, slots=True)
class RoomCreated:
    """A public room was made: every other user's multiplexed sockets are told, so
    clients list it without asking again."""

    room_id: int


@dataclass(frozen=True, slots=True)
class ReadMoved:
    """The user's read marker moved (with `thread`, their marker in the thread of
    that root seq): their multiplexed sockets are told, all but `origin` (the
    socket whose `read` frame moved it, if one did)."""

    user_id: int
    room_id: int
    seq: int
    origin: str | None = None
    thread: int | None = None


@dataclass(frozen=True, slots=True)
class InstanceAlive:
    """Said by every instance each second (realtime/lost_publishes.py)."""

    instance: str


@dataclass(frozen=True, slots=True)
class StreamsBehind:
    """The instance stored entries in these rooms (None: in more rooms than it
    kept) that it could not publish: their open feeds elsewhere read the database."""

    instance: str
    rooms: tuple[int, ...] | None


ControlEvent = (
    TokenRevoked
    | FamilyRevoked
    | MemberRemoved
    | RoomDeleted
    | RoomChanged
    | RoomAdded
    | RoomCreated
    | ReadMoved
    | InstanceAlive
    | StreamsBehind
)


class ControlPublisher(Protocol):
    """Tells every instance, after the change committed; never raises for a broker
    that is away (the change holds; only other instances' open sockets miss it)."""

    async def publish(self, event: ControlEvent) -> None: ...
