"""Password hashing (argon2id, off the event loop) and JWT encoding and checking."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import anyio
from jose import ExpiredSignatureError, JWTError, jwt
from passlib.context import CryptContext

from service.config import Settings

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]
_REQUIRED_CLAIMS = ("sub", "exp", "iat", "jti", "type")
# Clock skew tolerated between instances: a token issued further ahead than this is forged or misissued.
IAT_LEEWAY_SECONDS = 30


class PasswordHasher:
    """argon2id through passlib. Every hash runs in a worker thread, at most
    `hash_concurrency` at once, so logins never stall the event loop."""

    def __init__(self, settings: Settings) -> None:
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=settings.argon2_memory_kib,
            argon2__time_cost=settings.argon2_time_cost,
            argon2__parallelism=settings.argon2_parallelism,
        )
        self._limiter = anyio.CapacityLimiter(settings.hash_concurrency)
        self._dummy_hash: str | None = None

    async def prepare(self) -> None:
        """Compute the dummy hash up front, so no login pays for it."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash("not a password of anyone")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._context.hash, password, limiter=self._limiter)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Check a password; with no hash (unknown user), spend the same time and fail."""
        if password_hash is None:
            await self.prepare()
            assert self._dummy_hash is not None
            await anyio.to_thread.run_sync(self._context.verify, password, self._dummy_hash, limiter=self._limiter)
            return False
        return await anyio.to_thread.run_sync(self._context.verify, password, password_hash, limiter=self._limiter)


class TokenError(Exception):
    """A token that cannot be used; `reason` is the text clients see."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    jti: str
    type: TokenType
    issued_at: datetime
    expires_at: datetime
    # The login (refresh-token family) an access token belongs to; None in tokens made before it was carried.
    family: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    claims: TokenClaims


class TokenCodec:
    def __init__(self, secret_key: str, settings: Settings) -> None:
        self._key = secret_key
        self._lifetimes: dict[TokenType, timedelta] = {
            "access": timedelta(minutes=settings.access_token_minutes),
            "refresh": timedelta(days=settings.refresh_token_days),
        }

    def lifetime(self, token_type: TokenType) -> timedelta:
        return self._lifetimes[token_type]

    def issue(
        self, user_id: int, token_type: TokenType, *, now: datetime | None = None, family: str | None = None
    ) -> IssuedToken:
        issued_at = (now or datetime.now(UTC)).replace(microsecond=0)
        claims = TokenClaims(
            user_id=user_id,
            jti=uuid.uuid4().hex,
            type=token_type,
            issued_at=issued_at,
            expires_at=issued_at + self._lifetimes[token_type],
            family=family,
        )
        payload: dict[str, object] = {
            "sub": str(user_id),
            "iat": int(issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "jti": claims.jti,
            "type": token_type,
        }
        if family is not None:
            payload["fam"] = family
        token = jwt.encode(payload, self._key, algorithm=ALGORITHM)
        return IssuedToken(token=token, claims=claims)

    def decode(self, token: str, expected_type: TokenType) -> TokenClaims:
        """Verify signature, algorithm, expiry and claims; raise TokenError otherwise."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={f"require_{claim}": True for claim in ("sub", "exp", "iat", "jti")},
            )
        except ExpiredSignatureError:
            raise TokenError("token expired") from None
        except (JWTError, ValueError, TypeError, AttributeError):
            raise TokenError("invalid token") from None
        if any(payload.get(claim) is None for claim in _REQUIRED_CLAIMS):
            raise TokenError("invalid token")
        sub, jti, token_type, family = payload["sub"], payload["jti"], payload["type"], payload.get("fam")
        if (
            token_type != expected_type
            or not isinstance(sub, str)
            or not sub.isascii()
            or not sub.isdigit()
            or len(sub) > 18
            or not isinstance(jti, str)
            or len(jti) > 64
            or not isinstance(payload["iat"], int)
            or not isinstance(payload["exp"], int)
            or payload["iat"] > datetime.now(UTC).timestamp() + IAT_LEEWAY_SECONDS
            or not (family is None or (isinstance(family, str) and len(family) <= 64))
        ):
            raise TokenError("invalid token")
        return TokenClaims(
            user_id=int(sub),
            jti=jti,
            type=token_type,
            issued_at=datetime.fromtimestamp(payload["iat"], UTC),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            family=family,
        )
