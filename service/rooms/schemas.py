from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from service.auth.schemas import Username, UserOut

# PostgreSQL text cannot hold NUL; the patterns say so in the schema, so clients learn it there.
NO_NUL = r"^[^\x00]*$"
# Surrounding whitespace is stripped: the schema asks for one character that is not whitespace.
VISIBLE_NO_NUL = r"^[^\x00]*[^\s\x00][^\x00]*$"
RoomName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=VISIBLE_NO_NUL)]
Description = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]


class RoomCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: RoomName
    description: Description = ""
    private: StrictBool = False  # 0 or "yes" is a mistake, not a choice


class RoomUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Null is refused (below), so the schema does not offer it.
    name: RoomName | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        for field in ("name", "description"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null; leave it out to keep it")
        return self


class RoomOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    private: bool
    owner_id: int
    created_at: datetime
    last_seq: int
    kind: Literal["room", "direct"] = Field(description="direct: a conversation of two users (POST /dms)")


class RoomPage(BaseModel):
    items: list[RoomOut]
    total: int


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username


class UserList(BaseModel):
    items: list[UserOut]
