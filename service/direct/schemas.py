from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from service.auth.schemas import Username


class DirectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    username: Username
