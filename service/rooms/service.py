"""Rooms, their visibility and their members."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, exists, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.errors import Conflict, Forbidden, NotFound
from service.rooms.models import DIRECT, Room, RoomMember

ROOM_NOT_FOUND = "room not found"


def _visible_to(user: User) -> ColumnElement[bool]:
    """Public rooms, private rooms the user belongs to; admins see every room."""
    if user.is_admin:
        return true()
    is_member = exists().where(RoomMember.room_id == Room.id, RoomMember.user_id == user.id)
    return or_(Room.private == false(), is_member)


async def room_for_reader(session: AsyncSession, room_id: int, user: User) -> Room:
    """The room if the user may read it; private rooms they cannot see are 'not found'."""
    room = await session.scalar(select(Room).where(Room.id == room_id, _visible_to(user)))
    if room is None:
        raise NotFound(ROOM_NOT_FOUND)
    return room


async def readable_room_ids(session: AsyncSession, room_ids: Sequence[int], user: User) -> set[int]:
    """Those of `room_ids` the user may read, in one query."""
    rows = await session.scalars(select(Room.id).where(Room.id.in_(room_ids), _visible_to(user)))
    return set(rows.all())


def require_manager(room: Room, user: User) -> None:
    if user.is_admin:
        return
    # Its owner_id is only who opened it: both users have the same (member's) rights.
    if room.kind == DIRECT:
        raise Forbidden("a direct conversation has no owner; only an admin may do this")
    if room.owner_id != user.id:
        raise Forbidden("only the room's owner or an admin may do this")


def require_group(room: Room) -> None:
    """A direct conversation keeps its name and exactly its two members."""
    if room.kind == DIRECT:
        raise Forbidden("a direct conversation keeps its name and its two members")


async def list_rooms(session: AsyncSession, user: User, limit: int, offset: int) -> tuple[Sequence[Room], int]:
    visible = _visible_to(user)
    total = await session.scalar(select(func.count()).select_from(Room).where(visible))
    # Rooms by name, then direct conversations (outside the unique-name rule) by name.
    order = (Room.name_key.is_(None), Room.name_key, Room.name, Room.id)
    rooms = await session.scalars(select(Room).where(visible).order_by(*order).limit(limit).offset(offset))
    return rooms.all(), total or 0


async def _flush_unique_name(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("room name already taken") from None


async def create_room(session: AsyncSession, owner: User, name: str, description: str, private: bool) -> Room:
    room = Room(name=name, name_key=name.casefold(), description=description, private=private, owner_id=owner.id)
    session.add(room)
    await _flush_unique_name(session)
    session.add(RoomMember(room_id=room.id, user_id=owner.id))
    await session.flush()
    return room


async def update_room(session: AsyncSession, room: Room, name: str | None, description: str | None) -> Room:
    require_group(room)
    if name is not None:
        room.name, room.name_key = name, name.casefold()
    if description is not None:
        room.description = description
    await _flush_unique_name(session)
    return room


async def delete_room(session: AsyncSession, room: Room) -> None:
    # Messages and memberships go with it through ON DELETE CASCADE.
    await session.execute(delete(Room).where(Room.id == room.id))


async def list_members(session: AsyncSession, room: Room) -> Sequence[User]:
    users = await session.scalars(
        select(User)
        .join(RoomMember, RoomMember.user_id == User.id)
        .where(RoomMember.room_id == room.id)
        .order_by(User.username_key)
    )
    return users.all()


async def add_member(session: AsyncSession, room: Room, username: str) -> User:
    require_group(room)
    user = await session.scalar(select(User).where(User.username_key == username.lower()))
    if user is None:
        raise NotFound("user not found")
    if await session.get(RoomMember, (room.id, user.id)) is not None:
        raise Conflict("already a member")
    session.add(membership(room, user.id))
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("already a member") from None
    return user


async def join_room(session: AsyncSession, room: Room, user: User) -> bool:
    """Join a public room; False when the user was a member already."""
    if await session.get(RoomMember, (room.id, user.id)) is not None:
        return False
    if room.private:
        # Private rooms are joined by invitation only (POST /rooms/{id}/members).
        raise NotFound(ROOM_NOT_FOUND)
    try:
        async with session.begin_nested():
            session.add(membership(room, user.id))
            await session.flush()
    except IntegrityError:
        return False  # a concurrent join of the same user got there first
    return True


def membership(room: Room, user_id: int) -> RoomMember:
    # A new member starts with nothing unread: the marker at the room's end.
    return RoomMember(room_id=room.id, user_id=user_id, last_read_seq=room.last_seq)


async def remove_member(session: AsyncSession, room: Room, caller: User, user_id: int) -> None:
    require_group(room)
    if user_id != caller.id:
        require_manager(room, caller)
    if user_id == room.owner_id:
        raise Forbidden("the room's owner cannot be removed; delete the room instead")
    membership = await session.get(RoomMember, (room.id, user_id))
    if membership is None:
        raise NotFound("not a member of this room")
    await session.delete(membership)
    await session.flush()
