"""Reactions over REST (docs/stream-entries.md, Reactions): each change an entry of
the room's stream, through the writer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from fastapi.exceptions import RequestValidationError

from service.auth.dependencies import CurrentUser
from service.db import SessionDep
from service.errors import error_responses
from service.messages.dependencies import WriterDep
from service.messages.reactions import React, emoji_problem, emoji_schema
from service.paging import MAX_SEQ
from service.rooms.dependencies import READER_ERRORS, ReadableRoom

router = APIRouter(prefix="/rooms", tags=["reactions"])

Seq = Annotated[int, Path(ge=1, le=MAX_SEQ)]
Emoji = Annotated[
    str,
    Path(
        description="percent-encoded UTF-8: a Unicode emoji or a :shortcode:, 1 to 64 bytes, "
        "no whitespace or control characters",
        json_schema_extra=emoji_schema,
    ),
]


@router.put(
    "/{room_id}/messages/{seq}/reactions/{emoji}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*READER_ERRORS, 409),
)
async def add_reaction(
    seq: Seq, emoji: Emoji, room: ReadableRoom, user: CurrentUser, session: SessionDep, writer: WriterDep
) -> None:
    """A `reaction` entry (`add`), unless the caller has this emoji on the message already."""
    await _react(seq, emoji, room.id, user, session, writer, add=True)


@router.delete(
    "/{room_id}/messages/{seq}/reactions/{emoji}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*READER_ERRORS),
)
async def remove_reaction(
    seq: Seq, emoji: Emoji, room: ReadableRoom, user: CurrentUser, session: SessionDep, writer: WriterDep
) -> None:
    """A `reaction` entry (`remove`), if the caller had this emoji on the message."""
    await _react(seq, emoji, room.id, user, session, writer, add=False)


async def _react(
    seq: int, emoji: str, room_id: int, user: CurrentUser, session: SessionDep, writer: WriterDep, *, add: bool
) -> None:
    problem = emoji_problem(emoji)
    if problem is not None:
        raise RequestValidationError([{"type": "value_error", "loc": ("path", "emoji"), "msg": problem}])
    await session.commit()  # the writer takes the database's write lock on SQLite
    change = React(room_id=room_id, target_seq=seq, user_id=user.id, username=user.username, emoji=emoji, add=add)
    await writer.apply(change)
