"""A `read` frame: the user's marker moves (markers/service.py), and their other
multiplexed sockets, on every instance, are told with a `read` frame.

A marker only moves forward, and at most to the last seq this socket received: so
every write is paid for by a frame the socket was sent, and a client repeating
`read` costs no database write."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.control import ControlPublisher, ReadMoved
from service.markers.service import mark_read
from service.realtime.connection import Connection
from service.realtime.protocol import Read
from service.realtime.subscription import Subscription


@dataclass(frozen=True, slots=True)
class ReadMarkers:
    writes: async_sessionmaker[AsyncSession]
    control: ControlPublisher


async def read(markers: ReadMarkers, sub: Subscription[Connection], frame: Read) -> None:
    seq = min(frame.seq, sub.last_seq)
    if seq <= sub.read_seq:
        return
    sub.read_seq = seq
    async with markers.writes() as session:
        moved = await mark_read(session, sub.room_id, sub.user_id, seq)
        await session.commit()
    if moved is not None:
        await markers.control.publish(ReadMoved(sub.user_id, sub.room_id, moved, sub.conn.origin))
