"""The models' tables, for Core statements: typed as `Table` here once, since the
ORM types a model's `__table__` as any FromClause."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Table

from service.auth.models import User
from service.db import Base
from service.files.models import File
from service.messages.models import Mention, Message, Reaction, ThreadMarker
from service.rooms.models import Room, RoomMember


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table), model
    return table


messages: Final = _table(Message)
rooms: Final = _table(Room)
room_members: Final = _table(RoomMember)
users: Final = _table(User)
reactions: Final = _table(Reaction)
mentions: Final = _table(Mention)
thread_markers: Final = _table(ThreadMarker)
files: Final = _table(File)
