from __future__ import annotations

from fastapi import APIRouter, status

from service.auth.dependencies import CurrentUser
from service.control import ReadMoved
from service.db import SessionDep
from service.errors import BEARER_ERRORS, BODY_ERRORS, error_responses
from service.markers import service
from service.markers.schemas import MyRoom, MyRoomList, ReadIn
from service.resources import ResourcesDep
from service.rooms.dependencies import READER_ERRORS, ReadableRoom
from service.rooms.schemas import RoomOut

router = APIRouter(tags=["read markers"])


@router.post(
    "/rooms/{room_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*READER_ERRORS, *BODY_ERRORS),
)
async def mark_read(
    body: ReadIn, room: ReadableRoom, user: CurrentUser, session: SessionDep, resources: ResourcesDep
) -> None:
    """Move the caller's read marker forward (never back); a room the caller is not
    a member of keeps no marker, and the call changes nothing."""
    moved = await service.mark_read(session, room.id, user.id, body.seq)
    if moved is not None:
        await session.commit()  # moved before any device is told
        await resources.hub.publish_control(ReadMoved(user.id, room.id, moved))


@router.get("/users/me/rooms", response_model=MyRoomList, responses=error_responses(*BEARER_ERRORS))
async def my_rooms(user: CurrentUser, session: SessionDep) -> MyRoomList:
    rows = await service.my_rooms(session, user)
    return MyRoomList(
        items=[MyRoom(room=RoomOut.model_validate(r), last_read_seq=seen, unread=n) for r, seen, n in rows]
    )
