from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from service.auth.schemas import Username, UserOut
from service.messages.blank import visible_schema, visible_text


def _no_nul(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold it
        raise ValueError("must not contain NUL characters")
    return value


# Checked in code, so that a refusal says what is wrong; the schema shows the rules
# as patterns. Surrounding whitespace is stripped before the name is checked.
RoomName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=64),
    AfterValidator(visible_text),
    Field(json_schema_extra=visible_schema),
]
Description = Annotated[
    str, StringConstraints(max_length=500), AfterValidator(_no_nul), Field(json_schema_extra={"pattern": r"^[^\x00]*$"})
]


class RoomCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: RoomName
    description: Description = ""
    private: StrictBool = False  # 0 or "yes" is a mistake, not a choice


class RoomUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

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
    model_config = ConfigDict(extra="forbid", strict=True)

    username: Username


class UserList(BaseModel):
    items: list[UserOut]
