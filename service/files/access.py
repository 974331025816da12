"""Who may fetch a file: its uploader while it is unattached; once attached,
whoever may read the room of its message (the rooms' own rule). Everyone else,
and everyone for a deleted file, gets 'not found', as for a private room."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.errors import NotFound
from service.files.models import File
from service.files.objects import file_id
from service.rooms import service as rooms

FILE_NOT_FOUND = "file not found"


def file_id_of(text: str) -> int:
    """A file's id as clients hold it (an opaque string); anything else is not found."""
    value = file_id(text)
    if value is None:
        raise NotFound(FILE_NOT_FOUND)
    return value


async def may_fetch(session: AsyncSession, file: File, user: User) -> bool:
    if file.deleted_at is not None:
        return False
    if file.room_id is None:
        return file.uploader_id == user.id
    try:
        await rooms.room_for_reader(session, file.room_id, user)
    except NotFound:
        return False
    return True


async def file_for_reader(session: AsyncSession, file_id: str, user: User) -> File:
    """The file if `user` may fetch it, else NotFound."""
    file = await session.scalar(select(File).where(File.id == file_id_of(file_id)))
    if file is None or not await may_fetch(session, file, user):
        raise NotFound(FILE_NOT_FOUND)
    return file
