from __future__ import annotations

from pydantic import BaseModel

from service.auth.schemas import UserOut


class UserList(BaseModel):
    items: list[UserOut]
