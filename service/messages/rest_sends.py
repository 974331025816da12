"""A message sent over REST: the socket's way to the writer (the same checks,
batch, seq, publish and echo), answered once it is stored."""

from __future__ import annotations

import logging

from service.errors import Conflict, NotFound, ServiceError, Unavailable
from service.messages.entries import NOT_STORED, UNAVAILABLE, InvalidFiles, InvalidThread, RoomGone, StoreResult
from service.messages.writer import MessageWriter
from service.rooms.service import ROOM_NOT_FOUND

log = logging.getLogger("service.messages")


async def send(
    writer: MessageWriter,
    *,
    room_id: int,
    user_id: int,
    username: str,
    body: str,
    client_msg_id: str | None,
    thread_seq: int | None,
    files: tuple[int, ...] = (),
) -> StoreResult:
    """The stored message (or, for a client_msg_id stored before, the original)."""
    try:
        return await writer.submit(
            room_id=room_id,
            user_id=user_id,
            username=username,
            body=body,
            client_msg_id=client_msg_id,
            thread_seq=thread_seq,
            files=files,
        )
    except RoomGone:
        raise NotFound(ROOM_NOT_FOUND) from None
    except (InvalidThread, InvalidFiles) as exc:
        raise Conflict(str(exc), code=exc.code) from None
    except ServiceError:
        raise
    except Exception as exc:
        log.warning("storing a message failed: %s: %s", type(exc).__name__, exc)
        raise Unavailable(NOT_STORED, code=UNAVAILABLE) from None
