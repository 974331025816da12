"""Every table, imported in one place for Alembic and mapper configuration."""

from service.auth.models import RefreshToken, RevokedAccessToken, User
from service.db import Base
from service.files.models import File
from service.messages.models import Mention, Message, Reaction, ThreadMarker
from service.rooms.models import Room, RoomMember

metadata = Base.metadata

__all__ = [
    "File",
    "Mention",
    "Message",
    "Reaction",
    "RefreshToken",
    "RevokedAccessToken",
    "Room",
    "RoomMember",
    "ThreadMarker",
    "User",
    "metadata",
]
