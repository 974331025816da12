from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from service.auth.dependencies import TokenCodecDep
from service.auth.models import User
from service.auth.security import TokenError
from service.auth.service import user_for_access_token
from service.dependencies import from_state
from service.errors import Unauthorized
from service.files.uploads import Uploads

UploadsDep = Annotated[Uploads, Depends(from_state("uploads"))]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def _uploader(request: Request, codec: TokenCodecDep, token: Annotated[str | None, Depends(_bearer)]) -> User:
    """The caller, checked in a read transaction that ends at once: an upload's body
    may take minutes to arrive, and no transaction (on SQLite, no write lock) may
    stay open for it, as the per-request session would."""
    async with request.app.state.reads() as session:
        try:
            user, _ = await user_for_access_token(session, codec, token)
        except TokenError as exc:
            raise Unauthorized(exc.reason) from None
    return user


Uploader = Annotated[User, Depends(_uploader)]
