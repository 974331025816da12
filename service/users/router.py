from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.auth.dependencies import CurrentUser
from service.auth.schemas import UserOut
from service.db import SessionDep
from service.errors import BEARER_ERRORS, error_responses
from service.replicas.dependencies import RoutedReadsDep
from service.replicas.routing import PRIMARY_POSITION
from service.userlimits import Action, UserLimitsDep
from service.users import service
from service.users.schemas import UserList

router = APIRouter(tags=["users"])

Prefix = Annotated[
    str,
    Query(min_length=1, max_length=service.MAX_PREFIX_CHARS, description="the start of a username, any case"),
]
LookupLimit = Annotated[int, Query(ge=1, le=service.MAX_LOOKUP, description="users at most")]


@router.get("/users", response_model=UserList, responses=error_responses(*BEARER_ERRORS, 422, 429))
async def look_up_users(
    prefix: Prefix,
    user: CurrentUser,
    session: SessionDep,
    routed: RoutedReadsDep,
    user_limits: UserLimitsDep,
    limit: LookupLimit = service.DEFAULT_LOOKUP,
) -> UserList:
    """Users whose name starts with `prefix`, ignoring case, by name. Lookups are
    limited per user (429 with Retry-After), so the directory cannot be walked at speed."""
    await user_limits.spend(Action.LOOK_UP_USERS, user.id)
    found = await routed.read(session, lambda s: service.users_by_prefix(s, prefix, limit), PRIMARY_POSITION)
    return UserList(items=[UserOut.model_validate(u) for u in found])
