from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from service.auth import service
from service.auth.dependencies import CurrentAuth, CurrentUser, HasherDep, ThrottleDep, TokenCodecDep
from service.auth.schemas import LogoutIn, RefreshIn, RegisterIn, TokenOut, UserOut
from service.control import FamilyRevoked, TokenRevoked
from service.db import SessionDep
from service.dependencies import ControlPublisherDep
from service.errors import BEARER_ERRORS, BODY_ERRORS, error_responses

router = APIRouter(tags=["auth"])


def _token_out(pair: service.TokenPair) -> TokenOut:
    return TokenOut(access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token)


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=error_responses(*BODY_ERRORS, 409),
)
async def register(body: RegisterIn, session: SessionDep, hasher: HasherDep) -> object:
    return await service.create_user(session, hasher, body.username, body.password)


# 429: failed logins are throttled.
@router.post("/auth/token", response_model=TokenOut, responses=error_responses(*BODY_ERRORS, 401, 429))
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    throttle: ThrottleDep,
    hasher: HasherDep,
    codec: TokenCodecDep,
) -> TokenOut:
    # The peer, or X-Forwarded-For from the proxies uvicorn trusts (--forwarded-allow-ips).
    address = request.client.host if request.client is not None else "unknown"
    async with throttle.attempt(form.username, address):
        user = await service.authenticate_password(session, hasher, form.username, form.password)
    return _token_out(await service.issue_tokens(session, codec, user.id))


@router.post("/auth/refresh", response_model=TokenOut, responses=error_responses(*BODY_ERRORS, 401))
async def refresh(body: RefreshIn, session: SessionDep, codec: TokenCodecDep, control: ControlPublisherDep) -> TokenOut:
    try:
        return _token_out(await service.rotate_refresh_token(session, codec, body.refresh_token))
    except service.RefreshReused as exc:
        # Revoked and committed already: the login's open sockets close on every instance.
        await control.publish(FamilyRevoked(exc.family_id))
        raise


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*BEARER_ERRORS, *BODY_ERRORS),
)
async def logout(
    auth: CurrentAuth,
    session: SessionDep,
    codec: TokenCodecDep,
    control: ControlPublisherDep,
    body: Annotated[LogoutIn | None, Body()] = None,
) -> None:
    families = await service.logout(session, codec, auth[1], body.refresh_token if body else None)
    await session.commit()  # revoked before any socket is told
    await control.publish(TokenRevoked(auth[1].jti))
    for family_id in families:
        await control.publish(FamilyRevoked(family_id))


@router.get("/users/me", response_model=UserOut, responses=error_responses(*BEARER_ERRORS))
async def me(user: CurrentUser) -> object:
    return user
