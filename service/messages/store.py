"""The one place that assigns `seq` and inserts messages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload

from service.messages.models import Message
from service.rooms.models import Room


class RoomGone(Exception):
    """The room was deleted before the message could be stored."""


@dataclass(frozen=True, slots=True)
class StoreResult:
    message: Message  # with .user loaded
    created: bool  # False: a repeat of an earlier client_msg_id; nothing new stored


async def _existing(session: AsyncSession, room_id: int, user_id: int, client_msg_id: str) -> Message | None:
    return await session.scalar(
        select(Message)
        .options(joinedload(Message.user))
        .where(Message.room_id == room_id, Message.user_id == user_id, Message.client_msg_id == client_msg_id)
    )


async def store_message(
    sessionmaker: async_sessionmaker[AsyncSession],
    room_id: int,
    user_id: int,
    body: str,
    client_msg_id: str | None = None,
) -> StoreResult:
    """Store one message and commit. When this returns, the message is durable and
    may be broadcast; a repeated client_msg_id returns the original instead."""
    try:
        async with sessionmaker() as session, session.begin():
            if client_msg_id is not None:
                found = await _existing(session, room_id, user_id, client_msg_id)
                if found is not None:
                    return StoreResult(found, created=False)
            # Row lock on the room until commit: the next writer gets seq + 1 only
            # after this one commits, so seq is gapless and in commit order.
            seq = await session.scalar(
                update(Room).where(Room.id == room_id).values(last_seq=Room.last_seq + 1).returning(Room.last_seq)
            )
            if seq is None:
                raise RoomGone(room_id)
            message = Message(room_id=room_id, seq=seq, user_id=user_id, body=body, client_msg_id=client_msg_id)
            session.add(message)
            await session.flush()
            await session.refresh(message, ["user"])
            return StoreResult(message, created=True)
    except IntegrityError:
        # A concurrent send with the same client_msg_id won; its row is the answer.
        if client_msg_id is None:
            raise
        async with sessionmaker() as session:
            found = await _existing(session, room_id, user_id, client_msg_id)
        if found is None:
            raise
        return StoreResult(found, created=False)
