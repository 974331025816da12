from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from service.auth.schemas import UserRef


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    room_id: int
    seq: int
    user: UserRef
    body: str
    client_msg_id: str | None
    created_at: datetime


class MessagePage(BaseModel):
    items: list[MessageOut]
    has_more: bool
