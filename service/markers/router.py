from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.exceptions import RequestValidationError

from service.auth.dependencies import CurrentUser
from service.control import ReadMoved
from service.db import SessionDep
from service.dependencies import ControlPublisherDep
from service.errors import BEARER_ERRORS, BODY_ERRORS, error_responses
from service.markers import service
from service.markers.schemas import MyRoom, MyRoomList, ReadIn
from service.markers.service import DEFAULT_MY_ROOMS_PAGE, MAX_MY_ROOMS_PAGE
from service.rooms.dependencies import READER_ERRORS, ReadableRoom
from service.rooms.schemas import RoomOut

router = APIRouter(tags=["read markers"])


@router.post(
    "/rooms/{room_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*READER_ERRORS, *BODY_ERRORS),
)
async def mark_read(
    body: ReadIn, room: ReadableRoom, user: CurrentUser, session: SessionDep, control: ControlPublisherDep
) -> None:
    """Move the caller's read marker forward (never back); a room the caller is not
    a member of keeps no marker, and the call changes nothing."""
    moved = await service.mark_read(session, room.id, user.id, body.seq)
    if moved is not None:
        await session.commit()  # moved before any device is told
        await control.publish(ReadMoved(user.id, room.id, moved))


MyRoomsLimit = Annotated[int, Query(ge=1, le=MAX_MY_ROOMS_PAGE, description="rooms per page")]
# Longer than any cursor the listing makes (18 + 1 + 19 characters).
MyRoomsCursor = Annotated[
    str | None,
    Query(
        max_length=40,
        description="`next_before` of the previous page; absent for the first",
        json_schema_extra={"pattern": service.CURSOR_PATTERN},
    ),
]


def _position(before: MyRoomsCursor = None) -> service.Position | None:
    if before is None:
        return None
    position = service.decode_cursor(before)
    if position is None:
        loc = ("query", "before")
        raise RequestValidationError([{"type": "value_error", "loc": loc, "msg": "not a cursor from a previous page"}])
    return position


@router.get("/users/me/rooms", response_model=MyRoomList, responses=error_responses(*BEARER_ERRORS, 422))
async def my_rooms(
    user: CurrentUser,
    session: SessionDep,
    before: Annotated[service.Position | None, Depends(_position)],
    limit: MyRoomsLimit = DEFAULT_MY_ROOMS_PAGE,
) -> MyRoomList:
    """The caller's rooms, the most recently active first, a page at a time."""
    rows, following = await service.my_rooms(session, user, limit, before)
    return MyRoomList(
        items=[MyRoom(room=RoomOut.model_validate(r), last_read_seq=seen, unread=n) for r, seen, n in rows],
        has_more=following is not None,
        next_before=None if following is None else service.encode_cursor(following),
    )
