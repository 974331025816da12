from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from service.auth.dependencies import CurrentUser
from service.db import SessionDep
from service.dependencies import SettingsDep
from service.errors import BEARER_ERRORS, error_responses
from service.messages.schemas import MessageOut, MessagePage
from service.paging import MAX_DB_INT
from service.replicas.dependencies import RoutedReadsDep
from service.replicas.routing import PRIMARY_POSITION
from service.search import query, service
from service.userlimits import Action, UserLimitsDep

router = APIRouter(tags=["search"])

SearchText = Annotated[
    str,
    Query(
        min_length=1,
        max_length=query.MAX_QUERY_CHARS,
        description=(
            'Words (whole words), `word*` (a prefix), `"a phrase"`; every one must match. '
            f"At most {query.MAX_TERMS} of them; a prefix has at least {query.MIN_PREFIX_CHARS} characters."
        ),
    ),
]


@router.get("/search", response_model=MessagePage, responses=error_responses(*BEARER_ERRORS, 422, 429, 503))
async def search(
    q: SearchText,
    user: CurrentUser,
    session: SessionDep,
    routed: RoutedReadsDep,
    settings: SettingsDep,
    user_limits: UserLimitsDep,
    room_id: Annotated[int | None, Query(ge=1, le=MAX_DB_INT)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_DB_INT)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> MessagePage:
    """Messages the caller may read that match `q`, newest first, in their current
    state; a room the caller cannot read has no results. Searches are limited per
    user (429); one that cannot finish in time is cut off (503)."""
    await user_limits.spend(Action.SEARCH, user.id)
    try:
        terms = query.parse(q)
    except query.QueryError as exc:
        raise RequestValidationError([{"type": "value_error", "loc": ("query", "q"), "msg": str(exc)}]) from None
    if not terms:
        return MessagePage(items=[], has_more=False)
    rows, has_more = await routed.read(
        session,
        lambda s: service.search(
            s, user, terms, room_id=room_id, before_id=before_id, limit=limit, timeout_ms=settings.search_timeout_ms
        ),
        PRIMARY_POSITION,
    )
    return MessagePage(items=[MessageOut.model_validate(m) for m in rows], has_more=has_more)
