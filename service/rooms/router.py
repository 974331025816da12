from __future__ import annotations

from fastapi import APIRouter, status

from service.auth.dependencies import CurrentUser
from service.auth.schemas import UserOut
from service.control import MemberRemoved, RoomAdded, RoomChanged, RoomCreated, RoomDeleted
from service.db import SessionDep
from service.dependencies import ControlPublisherDep
from service.errors import BEARER_ERRORS, BODY_ERRORS, error_responses
from service.paging import Limit, Offset, UserId
from service.rooms import service
from service.rooms.dependencies import MANAGER_ERRORS, READER_ERRORS, ManagedRoom, ReadableRoom
from service.rooms.schemas import (
    MemberIn,
    RoomCreate,
    RoomOut,
    RoomPage,
    RoomUpdate,
    UserList,
)
from service.userlimits import Action, UserLimitsDep

router = APIRouter(prefix="/rooms", tags=["rooms"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RoomOut,
    responses=error_responses(*BEARER_ERRORS, *BODY_ERRORS, 409, 429),
)
async def create_room(
    body: RoomCreate, user: CurrentUser, session: SessionDep, control: ControlPublisherDep, limits: UserLimitsDep
) -> object:
    # Counted before the insert; the read that found the user ends first, so no
    # connection or transaction waits on the limiter's store.
    await session.commit()
    await limits.spend(Action.CREATE_ROOM, user.id)
    room = await service.create_room(session, user, body.name, body.description, body.private)
    await session.commit()  # stored before any socket is told
    await control.publish(RoomAdded(user.id, room.id))
    if not room.private:
        await control.publish(RoomCreated(room.id))
    return room


@router.get("", response_model=RoomPage, responses=error_responses(*BEARER_ERRORS, 422))
async def list_rooms(user: CurrentUser, session: SessionDep, limit: Limit = 50, offset: Offset = 0) -> RoomPage:
    rooms, total = await service.list_rooms(session, user, limit, offset)
    return RoomPage(items=[RoomOut.model_validate(r) for r in rooms], total=total)


@router.get("/{room_id}", response_model=RoomOut, responses=error_responses(*READER_ERRORS))
async def get_room(room: ReadableRoom) -> object:
    return room


@router.patch("/{room_id}", response_model=RoomOut, responses=error_responses(*MANAGER_ERRORS, *BODY_ERRORS, 409))
async def update_room(body: RoomUpdate, room: ManagedRoom, session: SessionDep, control: ControlPublisherDep) -> object:
    updated = await service.update_room(session, room, body.name, body.description)
    await session.commit()  # stored before any instance reads it again
    await control.publish(RoomChanged(room.id))
    return updated


@router.delete("/{room_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(*MANAGER_ERRORS))
async def delete_room(room: ManagedRoom, session: SessionDep, control: ControlPublisherDep) -> None:
    await service.delete_room(session, room)
    await session.commit()  # gone before any socket is told
    await control.publish(RoomDeleted(room.id))


@router.get("/{room_id}/members", response_model=UserList, responses=error_responses(*READER_ERRORS))
async def list_members(room: ReadableRoom, session: SessionDep) -> UserList:
    users = await service.list_members(session, room)
    return UserList(items=[UserOut.model_validate(u) for u in users])


@router.post(
    "/{room_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=error_responses(*MANAGER_ERRORS, *BODY_ERRORS, 409),
)
async def add_member(body: MemberIn, room: ManagedRoom, session: SessionDep, control: ControlPublisherDep) -> object:
    member = await service.add_member(session, room, body.username)
    await session.commit()  # a member before any socket is told
    await control.publish(RoomAdded(member.id, room.id))
    return member


@router.post("/{room_id}/join", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(*READER_ERRORS))
async def join_room(room: ReadableRoom, user: CurrentUser, session: SessionDep, control: ControlPublisherDep) -> None:
    """Become a member of a public room; joining again changes nothing."""
    if await service.join_room(session, room, user):
        await session.commit()  # a member before any socket is told
        await control.publish(RoomAdded(user.id, room.id))


@router.delete(
    "/{room_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*READER_ERRORS, 403),
)
async def remove_member(
    user_id: UserId, room: ReadableRoom, user: CurrentUser, session: SessionDep, control: ControlPublisherDep
) -> None:
    await service.remove_member(session, room, user, user_id)
    await session.commit()  # removed before any socket is told
    await control.publish(MemberRemoved(room.id, user_id))
