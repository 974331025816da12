from __future__ import annotations

from fastapi import APIRouter

from service.db import SessionDep
from service.errors import error_responses
from service.messages import service
from service.messages.schemas import MessageOut, MessagePage
from service.paging import Limit, SeqCursor
from service.rooms.dependencies import READER_ERRORS, ReadableRoom

router = APIRouter(prefix="/rooms", tags=["messages"])


@router.get("/{room_id}/messages", response_model=MessagePage, responses=error_responses(*READER_ERRORS))
async def room_history(
    room: ReadableRoom,
    session: SessionDep,
    after_seq: SeqCursor = None,
    before_seq: SeqCursor = None,
    limit: Limit = 50,
) -> MessagePage:
    rows, has_more = await service.history(session, room.id, after_seq=after_seq, before_seq=before_seq, limit=limit)
    return MessagePage(items=[MessageOut.model_validate(m) for m in rows], has_more=has_more)
