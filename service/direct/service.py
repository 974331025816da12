"""Finding or making the one conversation of two users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.errors import NotFound
from service.rooms.models import DIRECT, Room
from service.rooms.service import membership


class WithOneself(Exception):
    """A conversation needs another user."""


def pair_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


def conversation_name(a: User, b: User) -> str:
    """Both usernames, in a fixed order: the same name whichever of them asked.
    (Usernames are at most 32 characters, so it fits a room name.)"""
    first, second = sorted((a, b), key=lambda u: u.username_key)
    return f"{first.username}, {second.username}"


async def find_conversation(session: AsyncSession, caller: User, username: str) -> tuple[User, Room | None]:
    """The other user, and their conversation with the caller if it exists."""
    other = await session.scalar(select(User).where(User.username_key == username.lower()))
    if other is None:
        raise NotFound("user not found")
    if other.id == caller.id:
        raise WithOneself
    existing = await session.scalar(select(Room).where(Room.direct_key == pair_key(caller.id, other.id)))
    return other, existing


async def create_conversation(session: AsyncSession, caller: User, other: User) -> tuple[Room, bool]:
    """The conversation of the two, made now unless it was made meanwhile; whether it is new."""
    key = pair_key(caller.id, other.id)
    room = Room(
        kind=DIRECT,
        name=conversation_name(caller, other),
        name_key=None,
        description="",
        private=True,
        owner_id=caller.id,
        direct_key=key,
    )
    try:
        async with session.begin_nested():
            session.add(room)
            await session.flush()
    except IntegrityError:
        # The other user (or another request) made it meanwhile: theirs is the one.
        found = await session.scalar(select(Room).where(Room.direct_key == key))
        assert found is not None
        return found, False
    session.add_all([membership(room, caller.id), membership(room, other.id)])
    await session.flush()
    return room, True
