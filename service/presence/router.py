from __future__ import annotations

import orjson
from fastapi import APIRouter

from service.errors import error_responses
from service.resources import ResourcesDep
from service.rooms.dependencies import READER_ERRORS, ReadableRoom
from service.rooms.schemas import UserList

router = APIRouter(prefix="/rooms", tags=["presence"])


@router.get("/{room_id}/presence", response_model=UserList, responses=error_responses(*READER_ERRORS))
async def room_presence(room: ReadableRoom, resources: ResourcesDep) -> UserList:
    """Users with a socket open in the room, on any instance."""
    online = await resources.hub.roster.online(room.id)
    return UserList.model_validate({"items": [orjson.loads(u) for u in online]})
