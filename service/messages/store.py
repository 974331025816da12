"""The one place that assigns `seq` and inserts messages."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass

from sqlalchemy import select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from service.auth.models import User
from service.messages.models import Message
from service.rooms.models import Room


class RoomGone(Exception):
    """The room was deleted before the message could be stored."""


@dataclass(frozen=True, slots=True)
class StoreResult:
    message: Message  # with .user loaded
    created: bool  # False: a repeat of an earlier client_msg_id; nothing new stored


async def _existing(session: AsyncSession, room_id: int, user_id: int, client_msg_id: str) -> Message | None:
    return await session.scalar(
        select(Message)
        .options(joinedload(Message.user))
        .where(Message.room_id == room_id, Message.user_id == user_id, Message.client_msg_id == client_msg_id)
    )


async def store_message(
    sessionmaker: async_sessionmaker[AsyncSession],
    room_id: int,
    user_id: int,
    body: str,
    client_msg_id: str | None = None,
) -> StoreResult:
    """Store one message and commit. When this returns, the message is durable and
    may be broadcast; a repeated client_msg_id returns the original instead."""
    try:
        async with sessionmaker() as session, session.begin():
            if client_msg_id is not None:
                found = await _existing(session, room_id, user_id, client_msg_id)
                if found is not None:
                    return StoreResult(found, created=False)
            # Row lock on the room until commit: the next writer gets seq + 1 only
            # after this one commits, so seq is gapless and in commit order.
            seq = await session.scalar(
                update(Room).where(Room.id == room_id).values(last_seq=Room.last_seq + 1).returning(Room.last_seq)
            )
            if seq is None:
                raise RoomGone(room_id)
            message = Message(room_id=room_id, seq=seq, user_id=user_id, body=body, client_msg_id=client_msg_id)
            session.add(message)
            await session.flush()
            await session.refresh(message, ["user"])
            return StoreResult(message, created=True)
    except IntegrityError:
        # A concurrent send with the same client_msg_id won; its row is the answer.
        if client_msg_id is None:
            raise
        async with sessionmaker() as session:
            found = await _existing(session, room_id, user_id, client_msg_id)
        if found is None:
            raise
        return StoreResult(found, created=False)


@dataclass(slots=True)
class _Pending:
    room_id: int
    user_id: int
    body: str
    client_msg_id: str | None
    future: asyncio.Future[StoreResult]


class MessageWriter:
    """Group commit: one task stores what senders queued meanwhile, up to
    `max_batch` messages in one transaction, and answers each sender only after
    that commit. A batch of 1 is one commit per message."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], max_batch: int) -> None:
        self._sessionmaker = sessionmaker
        self._max_batch = max_batch
        self._queue: deque[_Pending] = deque()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="message-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for pending in self._queue:
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("the service is shutting down"))
        self._queue.clear()

    async def store(self, room_id: int, user_id: int, body: str, client_msg_id: str | None = None) -> StoreResult:
        future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(room_id, user_id, body, client_msg_id, future))
        self._ready.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                count = min(len(self._queue), self._max_batch)
                batch = [self._queue.popleft() for _ in range(count)]
                await self._store(batch)

    async def _store(self, batch: list[_Pending]) -> None:
        try:
            results = await _store_batch(self._sessionmaker, batch)
        except IntegrityError:
            # Another instance stored one of these client_msg_ids meanwhile: go one by one.
            for pending in batch:
                await self._store_one(pending)
            return
        except Exception as exc:
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        for pending, result in zip(batch, results, strict=True):
            if pending.future.done():
                continue
            if isinstance(result, BaseException):
                pending.future.set_exception(result)
            else:
                pending.future.set_result(result)

    async def _store_one(self, pending: _Pending) -> None:
        try:
            result = await store_message(
                self._sessionmaker, pending.room_id, pending.user_id, pending.body, pending.client_msg_id
            )
        except Exception as exc:
            if not pending.future.done():
                pending.future.set_exception(exc)
            return
        if not pending.future.done():
            pending.future.set_result(result)


async def _store_batch(
    sessionmaker: async_sessionmaker[AsyncSession], batch: list[_Pending]
) -> list[StoreResult | BaseException]:
    """Store a batch in one transaction; a result (or RoomGone) per item, in order."""
    results: list[StoreResult | BaseException | None] = [None] * len(batch)
    async with sessionmaker() as session, session.begin():
        # Repeats of stored client_msg_ids, and repeats within the batch.
        wanted = {(p.room_id, p.user_id, p.client_msg_id) for p in batch if p.client_msg_id is not None}
        existing: dict[tuple[int, int, str | None], Message] = {}
        if wanted:
            rows = await session.scalars(
                select(Message)
                .options(joinedload(Message.user))
                .where(tuple_(Message.room_id, Message.user_id, Message.client_msg_id).in_(list(wanted)))
            )
            existing = {(m.room_id, m.user_id, m.client_msg_id): m for m in rows}
        fresh: dict[int, list[int]] = {}  # room_id -> indexes of new messages
        first_of: dict[tuple[int, int, str | None], int] = {}
        repeats: dict[int, int] = {}  # index -> index of the same message earlier in the batch
        for i, p in enumerate(batch):
            key = (p.room_id, p.user_id, p.client_msg_id)
            if p.client_msg_id is not None and key in existing:
                results[i] = StoreResult(existing[key], created=False)
            elif p.client_msg_id is not None and key in first_of:
                repeats[i] = first_of[key]
            else:
                if p.client_msg_id is not None:
                    first_of[key] = i
                fresh.setdefault(p.room_id, []).append(i)
        messages: dict[int, Message] = {}
        # Rooms in id order: concurrent batches on other instances lock them in the same order.
        for room_id in sorted(fresh):
            indexes = fresh[room_id]
            last = await session.scalar(
                update(Room)
                .where(Room.id == room_id)
                .values(last_seq=Room.last_seq + len(indexes))
                .returning(Room.last_seq)
            )
            if last is None:
                for i in indexes:
                    results[i] = RoomGone(room_id)
                continue
            for offset, i in enumerate(indexes):
                p = batch[i]
                messages[i] = Message(
                    room_id=room_id,
                    seq=last - len(indexes) + 1 + offset,
                    user_id=p.user_id,
                    body=p.body,
                    client_msg_id=p.client_msg_id,
                )
        if messages:
            session.add_all(messages.values())
            await session.flush()
            user_ids = {m.user_id for m in messages.values()}
            users = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(user_ids)))}
            for i, message in messages.items():
                set_committed_value(message, "user", users[message.user_id])
                results[i] = StoreResult(message, created=True)
    for i, first in repeats.items():
        original = results[first]
        results[i] = StoreResult(original.message, created=False) if isinstance(original, StoreResult) else original
    return [r if r is not None else RuntimeError("not stored") for r in results]
