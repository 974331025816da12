from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# Validated in code, so that a refusal says in words what is wrong; the schema
# keeps the pattern for clients.
_USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,32}")


def _username(value: str) -> str:
    if not _USERNAME.fullmatch(value):
        raise ValueError("must be 3 to 32 characters of letters, digits, '_', '.' or '-'")
    return value


Username = Annotated[
    str,
    AfterValidator(_username),
    Field(json_schema_extra={"minLength": 3, "maxLength": 32, "pattern": "^[A-Za-z0-9_.-]+$"}),
]
Password = Annotated[str, Field(min_length=8, max_length=256)]


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    username: Username
    password: Password


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    is_admin: bool
    created_at: datetime


class UserRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str


class RefreshIn(BaseModel):
    model_config = ConfigDict(strict=True)

    refresh_token: Annotated[str, Field(max_length=4096)]


class LogoutIn(BaseModel):
    model_config = ConfigDict(strict=True)

    refresh_token: Annotated[str | None, Field(max_length=4096)] = None
