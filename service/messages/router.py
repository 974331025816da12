from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service.auth.dependencies import CurrentUser
from service.db import SessionDep
from service.dependencies import SettingsDep
from service.errors import BODY_ERRORS, NotFound, error_responses
from service.messages import stream_frames, stream_reads
from service.messages.changes import MESSAGE_NOT_FOUND
from service.messages.models import MESSAGE, Message
from service.messages.schemas import EventPage, MessageEdit, MessageOut, MessagePage
from service.messages.writer import MessageWriter
from service.paging import MAX_SEQ, Limit, SeqCursor
from service.rooms.dependencies import READER_ERRORS, ReadableRoom
from service.rooms.models import Room

router = APIRouter(prefix="/rooms", tags=["messages"])

Seq = Annotated[int, Path(ge=1, le=MAX_SEQ)]
MAX_EVENTS_PAGE = 500


async def _writer(request: Request) -> MessageWriter:
    writer: MessageWriter = request.app.state.writer
    return writer


# The one place that assigns seq: an edit or a delete is an entry of the stream too.
WriterDep = Annotated[MessageWriter, Depends(_writer)]


@router.get("/{room_id}/messages", response_model=MessagePage, responses=error_responses(*READER_ERRORS))
async def room_history(
    room: ReadableRoom,
    session: SessionDep,
    after_seq: SeqCursor = None,
    before_seq: SeqCursor = None,
    limit: Limit = 50,
) -> MessagePage:
    rows, has_more = await stream_reads.history(
        session, room.id, after_seq=after_seq, before_seq=before_seq, limit=limit
    )
    return MessagePage(items=[MessageOut.model_validate(m) for m in rows], has_more=has_more)


@router.get("/{room_id}/events", response_model=EventPage, responses=error_responses(*READER_ERRORS))
async def room_events(
    room: ReadableRoom,
    session: SessionDep,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)],
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100,
) -> Response:
    """The stream itself, as a socket replays it: message frames in their current
    state, edit and delete frames."""
    events = await stream_reads.read_stored(session, room.id, after=after_seq, limit=limit + 1)
    body = ",".join(stream_frames.stream_frame(e) for e in events[:limit])
    more = "true" if len(events) > limit else "false"
    return Response(f'{{"items":[{body}],"has_more":{more}}}', media_type="application/json")


@router.patch(
    "/{room_id}/messages/{seq}",
    response_model=MessageOut,
    responses=error_responses(*READER_ERRORS, *BODY_ERRORS, 403, 409),
)
async def edit_message(
    seq: Seq,
    body: MessageEdit,
    room: ReadableRoom,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    writer: WriterDep,
) -> object:
    if len(body.body) > settings.max_message_chars:
        raise RequestValidationError(
            [
                {
                    "type": "string_too_long",
                    "loc": ("body", "body"),
                    "msg": f"at most {settings.max_message_chars} characters",
                }
            ]
        )
    window = timedelta(minutes=settings.edit_window_minutes) if settings.edit_window_minutes else None
    await session.commit()  # the writer takes the database's write lock on SQLite
    await writer.change(
        room_id=room.id,
        target_seq=seq,
        user_id=user.id,
        username=user.username,
        is_admin=user.is_admin,
        body=body.body,
        edit_window=window,
    )
    return await _message(session, room, seq)


@router.delete(
    "/{room_id}/messages/{seq}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*READER_ERRORS, 403),
)
async def delete_message(
    seq: Seq, room: ReadableRoom, user: CurrentUser, session: SessionDep, writer: WriterDep
) -> None:
    await session.commit()  # the writer takes the database's write lock on SQLite
    await writer.change(
        room_id=room.id, target_seq=seq, user_id=user.id, username=user.username, is_admin=user.is_admin, body=None
    )


async def _message(session: SessionDep, room: Room, seq: int) -> Message:
    message = await session.scalar(
        select(Message)
        .options(joinedload(Message.user))
        .where(Message.room_id == room.id, Message.seq == seq, Message.kind == MESSAGE)
    )
    if message is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    return message
