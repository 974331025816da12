from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.dependencies import CurrentUser
from service.db import SessionDep
from service.dependencies import SettingsDep
from service.errors import BODY_ERRORS, Conflict, NotFound, error_responses
from service.files.dependencies import UploadsDep
from service.files.objects import file_ids
from service.files.removal import purge_message_files
from service.messages import rest_sends, stream_frames, stream_reads
from service.messages.change_steps import MESSAGE_NOT_FOUND
from service.messages.dependencies import WriterDep
from service.messages.entries import InvalidFiles, StoredMessage
from service.messages.schemas import EventPage, MessageEdit, MessageOut, MessagePage, MessageSend, ThreadPage
from service.paging import MAX_SEQ, Limit, SeqCursor
from service.replicas.dependencies import RoutedReadsDep
from service.replicas.routing import RoomFresh
from service.rooms.dependencies import READER_ERRORS, ReadableRoom
from service.userlimits import Action, UserLimitsDep

router = APIRouter(prefix="/rooms", tags=["messages"])

Seq = Annotated[int, Path(ge=1, le=MAX_SEQ)]
MAX_EVENTS_PAGE = 500
THREAD_NOT_FOUND = "thread not found"


@router.get("/{room_id}/messages", response_model=MessagePage, responses=error_responses(*READER_ERRORS))
async def room_history(
    room: ReadableRoom,
    session: SessionDep,
    routed: RoutedReadsDep,
    after_seq: SeqCursor = None,
    before_seq: SeqCursor = None,
    limit: Limit = 50,
) -> MessagePage:
    """The room's top-level messages in their current state (replies are in their threads)."""
    rows, has_more = await routed.read(
        session,
        lambda s: stream_reads.history(s, room.id, after_seq=after_seq, before_seq=before_seq, limit=limit),
        RoomFresh(room.id, room.last_seq),
    )
    return MessagePage(items=[MessageOut.model_validate(m) for m in rows], has_more=has_more)


@router.post(
    "/{room_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
    responses={
        200: {"description": "The original: its client_msg_id was stored already", "model": MessageOut},
        **error_responses(*READER_ERRORS, *BODY_ERRORS, 409, 429, 503, coded=(409, 503)),
    },
)
async def send_message(
    body: MessageSend,
    room: ReadableRoom,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    limits: UserLimitsDep,
    writer: WriterDep,
    response: Response,
) -> MessageOut:
    """Stored and broadcast exactly as a socket's message frame (a reply with `thread_seq`)."""
    _check_length(body.body, settings.max_message_chars)
    await limits.spend(Action.SEND_MESSAGE, user.id)
    await session.commit()  # the writer takes the database's write lock on SQLite
    result = await rest_sends.send(
        writer,
        room_id=room.id,
        user_id=user.id,
        username=user.username,
        body=body.body,
        client_msg_id=body.client_msg_id,
        thread_seq=body.thread_seq,
        files=_file_ids(body.files),
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return MessageOut.model_validate(result.message)


@router.get("/{room_id}/threads/{seq}", response_model=ThreadPage, responses=error_responses(*READER_ERRORS))
async def thread_page(
    seq: Seq,
    room: ReadableRoom,
    session: SessionDep,
    routed: RoutedReadsDep,
    after_seq: SeqCursor = None,
    limit: Limit = 50,
) -> ThreadPage:
    """The root in its current state and a page of its replies, oldest first."""

    async def read(s: AsyncSession) -> tuple[StoredMessage | None, list[StoredMessage], bool]:
        root = await stream_reads.message_at(s, room.id, seq, top_level=True)
        if root is None:
            return None, [], False
        replies, has_more = await stream_reads.thread(s, room.id, seq, after_seq=after_seq or 0, limit=limit)
        return root, replies, has_more

    root, replies, has_more = await routed.read(session, read, RoomFresh(room.id, room.last_seq))
    if root is None:
        raise NotFound(THREAD_NOT_FOUND)
    return ThreadPage(
        root=MessageOut.model_validate(root),
        items=[MessageOut.model_validate(m) for m in replies],
        has_more=has_more,
    )


@router.get("/{room_id}/events", response_model=EventPage, responses=error_responses(*READER_ERRORS))
async def room_events(
    room: ReadableRoom,
    session: SessionDep,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)],
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100,
) -> Response:
    """The stream itself, as a socket replays it: message frames in their current
    state (replies included), edit, delete, reaction and pin frames."""
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
) -> MessageOut:
    _check_length(body.body, settings.max_message_chars)
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
    message = await stream_reads.message_at(session, room.id, seq)
    if message is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    return MessageOut.model_validate(message)


@router.delete(
    "/{room_id}/messages/{seq}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*READER_ERRORS, 403),
)
async def delete_message(
    seq: Seq, room: ReadableRoom, user: CurrentUser, session: SessionDep, writer: WriterDep, uploads: UploadsDep
) -> None:
    """The message's files are never served again once this commits; their bytes go next."""
    await session.commit()  # the writer takes the database's write lock on SQLite
    await writer.change(
        room_id=room.id, target_seq=seq, user_id=user.id, username=user.username, is_admin=user.is_admin, body=None
    )
    await purge_message_files(session, uploads.storage, room.id, seq)


def _file_ids(given: list[str] | None) -> tuple[int, ...]:
    """A send's `files`: more than MAX_FILES, or an id no file can have, is refused
    as the store refuses files the sender may not attach."""
    ids = file_ids(given or [])
    if isinstance(ids, str):
        raise Conflict(ids, code=InvalidFiles.code)
    return ids


def _check_length(body: str, max_chars: int) -> None:
    if len(body) > max_chars:
        raise RequestValidationError(
            [{"type": "string_too_long", "loc": ("body", "body"), "msg": f"at most {max_chars} characters"}]
        )
