from __future__ import annotations

from typing import Annotated, Protocol

import orjson
from fastapi import APIRouter, Depends

from service.dependencies import from_state
from service.errors import error_responses
from service.rooms.dependencies import READER_ERRORS, ReadableRoom
from service.rooms.schemas import UserList

router = APIRouter(prefix="/rooms", tags=["presence"])


class Online(Protocol):
    """Who is in a room (realtime/roster.py)."""

    async def online(self, room_id: int) -> list[bytes]:
        """Each user's JSON, once, whichever instance their sockets are on."""
        ...


OnlineDep = Annotated[Online, Depends(from_state("roster"))]


@router.get("/{room_id}/presence", response_model=UserList, responses=error_responses(*READER_ERRORS))
async def room_presence(room: ReadableRoom, roster: OnlineDep) -> UserList:
    """Users with a socket open in the room, on any instance."""
    online = await roster.online(room.id)
    return UserList.model_validate({"items": [orjson.loads(u) for u in online]})
