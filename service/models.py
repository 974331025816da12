"""Every table, imported in one place for Alembic and mapper configuration."""

from service.auth.models import RefreshToken, RevokedAccessToken, User
from service.db import Base
from service.messages.models import Message
from service.rooms.models import Room, RoomMember

metadata = Base.metadata

__all__ = ["Message", "RefreshToken", "RevokedAccessToken", "Room", "RoomMember", "User", "metadata"]
