from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.auth.dependencies import CurrentUser
from service.db import SessionDep
from service.errors import BEARER_ERRORS
from service.paging import RoomId
from service.rooms import service
from service.rooms.models import Room


async def _room_for_reader(room_id: RoomId, user: CurrentUser, session: SessionDep) -> Room:
    return await service.room_for_reader(session, room_id, user)


ReadableRoom = Annotated[Room, Depends(_room_for_reader)]
# What a route on ReadableRoom can answer: 422 for a malformed room id.
READER_ERRORS = (*BEARER_ERRORS, 404, 422)


async def _room_for_manager(room: ReadableRoom, user: CurrentUser) -> Room:
    service.require_manager(room, user)
    return room


ManagedRoom = Annotated[Room, Depends(_room_for_manager)]
MANAGER_ERRORS = (*READER_ERRORS, 403)
