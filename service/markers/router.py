from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.exceptions import RequestValidationError

from service.auth.dependencies import CurrentUser
from service.control import ReadMoved
from service.db import SessionDep
from service.dependencies import ControlPublisherDep
from service.errors import BEARER_ERRORS, BODY_ERRORS, NotFound, error_responses
from service.markers import cursors, mentions, service, threads
from service.markers.schemas import MyRoom, MyRoomList, MyThread, MyThreadList, ReadIn, ThreadReadIn
from service.markers.service import DEFAULT_MY_ROOMS_PAGE, MAX_MY_ROOMS_PAGE
from service.messages.schemas import MessageOut, MessagePage
from service.paging import MAX_DB_INT, MAX_SEQ
from service.replicas.dependencies import RoutedReadsDep
from service.replicas.routing import PRIMARY_POSITION
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


RootSeq = Annotated[int, Path(ge=1, le=MAX_SEQ, description="the seq of the thread's root")]


@router.post(
    "/rooms/{room_id}/threads/{seq}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*READER_ERRORS, *BODY_ERRORS),
)
async def mark_thread_read(
    seq: RootSeq,
    body: ThreadReadIn,
    room: ReadableRoom,
    user: CurrentUser,
    session: SessionDep,
    control: ControlPublisherDep,
) -> None:
    """Move the caller's marker in the thread forward (never back). Only the
    thread's followers have a marker: for anyone else the call changes nothing.
    404 when `seq` is not a top-level message of the room."""
    if not await threads.is_thread(session, room.id, seq):
        raise NotFound("thread not found")
    moved = await threads.mark_thread_read(session, room.id, user.id, seq, body.seq)
    if moved is not None:
        await session.commit()  # moved before any device is told
        await control.publish(ReadMoved(user.id, room.id, moved, thread=seq))


def _cursor(pattern: str) -> object:
    """A `before` query parameter holding a cursor of this pattern."""
    return Query(
        max_length=cursors.MAX_CURSOR_CHARS,
        description="`next_before` of the previous page; absent for the first",
        json_schema_extra={"pattern": pattern},
    )


def _not_a_cursor() -> RequestValidationError:
    loc = ("query", "before")
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": "not a cursor from a previous page"}])


def _room_position(
    before: Annotated[str | None, _cursor(cursors.CURSOR_PATTERN)] = None,
) -> cursors.Position | None:
    if before is None:
        return None
    position = cursors.decode_cursor(before)
    if position is None:
        raise _not_a_cursor()
    return position


def _thread_position(
    before: Annotated[str | None, _cursor(cursors.THREAD_CURSOR_PATTERN)] = None,
) -> cursors.ThreadPosition | None:
    if before is None:
        return None
    position = cursors.decode_thread_cursor(before)
    if position is None:
        raise _not_a_cursor()
    return position


MyRoomsLimit = Annotated[int, Query(ge=1, le=MAX_MY_ROOMS_PAGE, description="rooms per page")]


@router.get("/users/me/rooms", response_model=MyRoomList, responses=error_responses(*BEARER_ERRORS, 422))
async def my_rooms(
    user: CurrentUser,
    session: SessionDep,
    routed: RoutedReadsDep,
    before: Annotated[cursors.Position | None, Depends(_room_position)],
    limit: MyRoomsLimit = DEFAULT_MY_ROOMS_PAGE,
) -> MyRoomList:
    """The caller's rooms, the most recently active first, a page at a time."""
    rows, following = await routed.read(session, lambda s: service.my_rooms(s, user, limit, before), PRIMARY_POSITION)
    return MyRoomList(
        items=[
            MyRoom(
                room=RoomOut.model_validate(r.room), last_read_seq=r.last_read_seq, unread=r.unread, mentions=r.mentions
            )
            for r in rows
        ],
        has_more=following is not None,
        next_before=None if following is None else cursors.encode_cursor(following),
    )


MyThreadsLimit = Annotated[int, Query(ge=1, le=threads.MAX_MY_THREADS_PAGE, description="threads per page")]


@router.get("/users/me/threads", response_model=MyThreadList, responses=error_responses(*BEARER_ERRORS, 422))
async def my_threads(
    user: CurrentUser,
    session: SessionDep,
    routed: RoutedReadsDep,
    before: Annotated[cursors.ThreadPosition | None, Depends(_thread_position)],
    limit: MyThreadsLimit = threads.DEFAULT_MY_THREADS_PAGE,
) -> MyThreadList:
    """The threads the caller follows in rooms they may read, the most recently
    replied first (a thread whose replies are all deleted: by its root's time), a
    page at a time."""
    rows, following = await routed.read(session, lambda s: threads.my_threads(s, user, limit, before), PRIMARY_POSITION)
    return MyThreadList(
        items=[
            MyThread(
                room_id=t.root.room_id,
                root=MessageOut.model_validate(t.root),
                last_read_seq=t.last_read_seq,
                unread=t.unread,
                mentions=t.mentions,
            )
            for t in rows
        ],
        has_more=following is not None,
        next_before=None if following is None else cursors.encode_thread_cursor(following),
    )


MyMentionsLimit = Annotated[int, Query(ge=1, le=mentions.MAX_MY_MENTIONS_PAGE, description="messages per page")]


@router.get("/users/me/mentions", response_model=MessagePage, responses=error_responses(*BEARER_ERRORS, 422))
async def my_mentions(
    user: CurrentUser,
    session: SessionDep,
    routed: RoutedReadsDep,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_DB_INT, description="`id` of the last item of the previous page")
    ] = None,
    limit: MyMentionsLimit = mentions.DEFAULT_MY_MENTIONS_PAGE,
) -> MessagePage:
    """Messages that mention the caller, by name or `@room`, in rooms they are a
    member of, newest first, in their current state; never their own, never deleted."""
    rows, has_more = await routed.read(
        session, lambda s: mentions.my_mentions(s, user, limit, before_id), PRIMARY_POSITION
    )
    return MessagePage(items=[MessageOut.model_validate(m) for m in rows], has_more=has_more)
