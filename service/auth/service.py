"""Users, logins, token rotation and revocation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import false, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import RefreshToken, RevokedAccessToken, User
from service.auth.security import PasswordHasher, TokenClaims, TokenCodec, TokenError
from service.db import utcnow
from service.errors import Conflict, Unauthorized

MAX_PASSWORD_CHARS = 256
BAD_CREDENTIALS = "incorrect username or password"


class RefreshReused(Unauthorized):
    """A used refresh token came back: its login (`family_id`) is revoked, and its sockets must close."""

    def __init__(self, family_id: str) -> None:
        super().__init__("token revoked")
        self.family_id = family_id


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    access_claims: TokenClaims


async def create_user(
    session: AsyncSession, hasher: PasswordHasher, username: str, password: str, *, is_admin: bool = False
) -> User:
    password_hash = await hasher.hash(password)  # before any query: no transaction is open meanwhile
    user = User(username=username, username_key=username.lower(), password_hash=password_hash, is_admin=is_admin)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("username already taken") from None
    return user


async def authenticate_password(session: AsyncSession, hasher: PasswordHasher, username: str, password: str) -> User:
    """The user for these credentials. Unknown user and wrong password fail alike,
    in about the same time (a dummy hash is verified for unknown users)."""
    # No username holds NUL, and PostgreSQL cannot even compare one.
    if len(password) > MAX_PASSWORD_CHARS or len(username) > 64 or "\x00" in username:
        raise Unauthorized(BAD_CREDENTIALS)
    user = await session.scalar(select(User).where(User.username_key == username.lower()))
    # End the read before the slow hash, so no database lock is held during it.
    await session.commit()
    ok = await hasher.verify(password, user.password_hash if user is not None else None)
    if user is None or not ok:
        raise Unauthorized(BAD_CREDENTIALS)
    return user


async def issue_tokens(
    session: AsyncSession, codec: TokenCodec, user_id: int, *, family_id: str | None = None
) -> TokenPair:
    family_id = family_id or uuid.uuid4().hex
    access = codec.issue(user_id, "access", family=family_id)
    refresh = codec.issue(user_id, "refresh")
    session.add(
        RefreshToken(
            jti=refresh.claims.jti,
            user_id=user_id,
            family_id=family_id,
            expires_at=refresh.claims.expires_at,
        )
    )
    await session.flush()
    return TokenPair(
        access_token=access.token,
        refresh_token=refresh.token,
        expires_in=int(codec.lifetime("access").total_seconds()),
        access_claims=access.claims,
    )


async def rotate_refresh_token(session: AsyncSession, codec: TokenCodec, token: str) -> TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once; presenting
    a used one again revokes every token descended from the same login."""
    try:
        claims = codec.decode(token, "refresh")
    except TokenError as exc:
        raise Unauthorized(exc.reason) from None
    now = utcnow()
    # Compare-and-set: of two concurrent refreshes with one token, exactly one wins.
    family_id = await session.scalar(
        update(RefreshToken)
        .where(
            RefreshToken.jti == claims.jti,
            RefreshToken.user_id == claims.user_id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
        .returning(RefreshToken.family_id)
    )
    if family_id is None:
        reused = await session.get(RefreshToken, claims.jti)
        if reused is not None and reused.used_at is not None:
            await revoke_family(session, reused.family_id)
            await session.commit()  # keep the revocation although the request fails
            raise RefreshReused(reused.family_id)
        raise Unauthorized("token revoked")
    if await session.get(User, claims.user_id) is None:
        raise Unauthorized("invalid token")
    return await issue_tokens(session, codec, claims.user_id, family_id=family_id)


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def logout(session: AsyncSession, codec: TokenCodec, access: TokenClaims, refresh_token: str | None) -> list[str]:
    """Revoke the access token, its login and, when given and the caller's, the refresh
    token's login; the logins (families) revoked."""
    if await session.get(RevokedAccessToken, access.jti) is None:
        session.add(RevokedAccessToken(jti=access.jti, expires_at=access.expires_at))
    families = [access.family] if access.family is not None else []
    if refresh_token:
        try:
            claims = codec.decode(refresh_token, "refresh")
        except TokenError:
            claims = None  # an unusable refresh token needs no revoking
        if claims is not None and claims.user_id == access.user_id:
            row = await session.get(RefreshToken, claims.jti)
            if row is not None and row.family_id not in families:
                families.append(row.family_id)
    for family_id in families:
        await revoke_family(session, family_id)
    await session.flush()
    return families


async def user_for_access_token(
    session: AsyncSession, codec: TokenCodec, token: str | None
) -> tuple[User, TokenClaims]:
    """The user behind an access token, or TokenError with the reason clients see."""
    if not token:
        raise TokenError("missing token")
    claims = codec.decode(token, "access")
    # One query: the user, and whether the token or its whole login was revoked.
    revoked = or_(
        select(RevokedAccessToken.jti).where(RevokedAccessToken.jti == claims.jti).exists(),
        select(RefreshToken.jti)
        .where(RefreshToken.family_id == claims.family, RefreshToken.revoked_at.is_not(None))
        .exists()
        if claims.family is not None
        else false(),
    )
    row = (await session.execute(select(User, revoked).where(User.id == claims.user_id))).first()
    if row is None:
        raise TokenError("invalid token")
    if row[1]:
        raise TokenError("token revoked")
    return row[0], claims
