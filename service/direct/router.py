from __future__ import annotations

from fastapi import APIRouter, Response, status
from fastapi.exceptions import RequestValidationError

from service.auth.dependencies import CurrentUser
from service.control import RoomAdded
from service.db import SessionDep
from service.dependencies import ControlPublisherDep
from service.direct import service
from service.direct.schemas import DirectIn
from service.errors import BEARER_ERRORS, BODY_ERRORS, error_responses
from service.rooms.schemas import RoomOut
from service.userlimits import Action, UserLimitsDep

router = APIRouter(tags=["direct conversations"])


@router.post(
    "/dms",
    status_code=status.HTTP_201_CREATED,
    response_model=RoomOut,
    responses={
        200: {"description": "The conversation existed already", "model": RoomOut},
        **error_responses(*BEARER_ERRORS, *BODY_ERRORS, 404, 429),
    },
)
async def open_conversation(
    body: DirectIn,
    user: CurrentUser,
    session: SessionDep,
    control: ControlPublisherDep,
    limits: UserLimitsDep,
    response: Response,
) -> object:
    """The one conversation of the caller and `username`: 201 when this call made
    it, 200 after, whichever of the two asks. Only making one counts against the
    caller's limit."""
    try:
        other, room = await service.find_conversation(session, user, body.username)
    except service.WithOneself:
        loc = ("body", "username")
        raise RequestValidationError([{"type": "value_error", "loc": loc, "msg": "that is you"}]) from None
    created = False
    if room is None:
        await session.commit()  # ends the read: no connection waits on the limiter's store
        await limits.spend(Action.OPEN_DM, user.id)
        room, created = await service.create_conversation(session, user, other)
    if not created:
        response.status_code = status.HTTP_200_OK
        return room
    await session.commit()  # both are members before either socket is told
    user_ids = [int(i) for i in (room.direct_key or "").split(":")]
    for member in user_ids:
        await control.publish(RoomAdded(member, room.id))
    return room
