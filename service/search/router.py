from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.auth.dependencies import CurrentUser
from service.db import SessionDep
from service.errors import BEARER_ERRORS, error_responses
from service.messages.schemas import MessageOut, MessagePage
from service.paging import MAX_DB_INT
from service.search import query, service

router = APIRouter(tags=["search"])

SearchText = Annotated[
    str,
    Query(
        min_length=1,
        max_length=query.MAX_QUERY_CHARS,
        description='Words (whole words), `word*` (a prefix), `"a phrase"`; every one must match.',
    ),
]


@router.get("/search", response_model=MessagePage, responses=error_responses(*BEARER_ERRORS, 422))
async def search(
    q: SearchText,
    user: CurrentUser,
    session: SessionDep,
    room_id: Annotated[int | None, Query(ge=1, le=MAX_DB_INT)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_DB_INT)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> MessagePage:
    """Messages the caller may read that match `q`, newest first, in their current
    state; a room the caller cannot read has no results."""
    terms = query.parse(q)
    if not terms:
        return MessagePage(items=[], has_more=False)
    rows, has_more = await service.search(session, user, terms, room_id=room_id, before_id=before_id, limit=limit)
    return MessagePage(items=[MessageOut.model_validate(m) for m in rows], has_more=has_more)
