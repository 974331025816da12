from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from service.auth.models import User
from service.auth.security import PasswordHasher, TokenClaims, TokenCodec, TokenError
from service.auth.service import user_for_access_token
from service.auth.throttle import LoginThrottle
from service.db import SessionDep
from service.dependencies import from_state
from service.errors import Unauthorized

TokenCodecDep = Annotated[TokenCodec, Depends(from_state("codec"))]
HasherDep = Annotated[PasswordHasher, Depends(from_state("hasher"))]
ThrottleDep = Annotated[LoginThrottle, Depends(from_state("throttle"))]

# auto_error=False: a missing token gets our 401 body, like every other auth failure.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def _current_auth(
    session: SessionDep, codec: TokenCodecDep, token: Annotated[str | None, Depends(_bearer)]
) -> tuple[User, TokenClaims]:
    try:
        return await user_for_access_token(session, codec, token)
    except TokenError as exc:
        raise Unauthorized(exc.reason) from None


CurrentAuth = Annotated[tuple[User, TokenClaims], Depends(_current_auth)]


async def _current_user(auth: CurrentAuth) -> User:
    return auth[0]


CurrentUser = Annotated[User, Depends(_current_user)]
