from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from service.auth.models import User
from service.auth.security import PasswordHasher, TokenClaims, TokenCodec, TokenError
from service.auth.service import user_for_access_token
from service.auth.throttle import LoginThrottle
from service.db import SessionDep
from service.errors import Unauthorized


async def _codec(request: Request) -> TokenCodec:
    codec: TokenCodec = request.app.state.codec
    return codec


async def _hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


async def _throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.throttle
    return throttle


TokenCodecDep = Annotated[TokenCodec, Depends(_codec)]
HasherDep = Annotated[PasswordHasher, Depends(_hasher)]
ThrottleDep = Annotated[LoginThrottle, Depends(_throttle)]

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
