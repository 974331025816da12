"""A client's message on its way to the store, and the answers the room's stream does not give.

The message goes to the group-commit writer (messages/writer.py) without the reader
waiting for it (but for the connection's store window, store_window.py), so a
sender's messages keep their order in the writer's queue and share transactions;
the writer publishes after commit, and the room's feed brings the message back to
every subscription, the sender's included: that echo is the acknowledgement.
`_stored` answers the sender alone where the stream does not: a repeated
client_msg_id, `invalid_thread` (a reply to no valid root), or `unavailable`."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from dataclasses import dataclass

from service.messages import stream_frames
from service.messages.entries import NOT_STORED, UNAVAILABLE, InvalidFiles, InvalidThread, RoomGone, StoreResult
from service.messages.writer import MessageWriter
from service.metrics import Metrics
from service.realtime import server_frames
from service.realtime.closes import ROOM_DELETED
from service.realtime.connection import Connection
from service.realtime.feeds import Feeds
from service.realtime.protocol import FrameError, SendMessage
from service.realtime.ratelimit import TokenBucket
from service.realtime.subscription import Subscription

log = logging.getLogger("service.realtime")


@dataclass(frozen=True, slots=True)
class Sending:
    writer: MessageWriter
    feeds: Feeds  # a room deleted meanwhile ends on the socket
    metrics: Metrics


async def send_message(
    sending: Sending, sub: Subscription[Connection], frame: SendMessage, bucket: TokenBucket
) -> None:
    conn = sub.conn
    wait = bucket.take()
    if wait > 0:
        retry_after_ms = math.ceil(wait * 1000)
        raise FrameError(
            "rate_limited",
            "sending too fast",
            frame.client_msg_id,
            room=frame.room,
            ref=frame.ref,
            retry_after_ms=retry_after_ms,
        )
    if conn.stores.full:  # the common case awaits nothing: no coroutine per message
        await conn.stores.wait_for_room()
    try:
        future = sending.writer.submit(
            room_id=sub.room_id,
            user_id=conn.user_id,
            username=conn.username,
            body=frame.body,
            client_msg_id=frame.client_msg_id,
            thread_seq=frame.thread_seq,
            files=frame.files,
        )
    except Exception as exc:
        log.warning("could not queue a message: %s: %s", type(exc).__name__, exc)
        raise FrameError(UNAVAILABLE, NOT_STORED, frame.client_msg_id, room=frame.room, ref=frame.ref) from None
    conn.stores.started()
    future.add_done_callback(functools.partial(_stored, sending, sub, frame, time.perf_counter()))


def _stored(
    sending: Sending,
    sub: Subscription[Connection],
    frame: SendMessage,
    started: float,
    future: asyncio.Future[StoreResult],
) -> None:
    """After commit (and publish): answer the sender where the room's stream does not."""
    conn: Connection = sub.conn
    conn.stores.finished()
    sending.metrics.store_seconds.observe(time.perf_counter() - started)
    exc = future.exception() if not future.cancelled() else asyncio.CancelledError()
    if isinstance(exc, RoomGone):
        sending.feeds.end_room(sub, ROOM_DELETED)
    elif isinstance(exc, InvalidThread | InvalidFiles):
        error = FrameError(exc.code, str(exc), frame.client_msg_id, room=frame.room, ref=frame.ref)
        conn.send_json(server_frames.error_frame(error))
    elif exc is not None:
        log.warning("storing a message failed: %s: %s", type(exc).__name__, exc)
        error = FrameError(UNAVAILABLE, NOT_STORED, frame.client_msg_id, room=frame.room, ref=frame.ref)
        conn.send_json(server_frames.error_frame(error))
    elif future.result().created:
        sending.metrics.messages_stored.inc()
    else:
        # The original, to the sender only, marked so it is not taken for a new message.
        conn.send_json(stream_frames.message_frame(future.result().message, duplicate=True, ref=frame.ref), sub.room_id)
