"""The one place that assigns `seq`: every entry of every room's stream goes
through one writer task, into the store of the engine's dialect (store.py).

Messages that arrived meanwhile are stored in one transaction (group commit), and
so are the changes (edits, deletes, reactions, pins) queued together, each in its
place in the queue. Each commit is published (`on_stored`) before anyone who asked is
answered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from service.messages.changes import Change
from service.messages.dialects import store_for
from service.messages.edits import Delete, Edit
from service.messages.entries import ChangeEntry, StoreResult, StreamEvent
from service.messages.store import REPEATED, Pending

log = logging.getLogger("service.messages")

OnStored = Callable[[Sequence[StreamEvent]], Awaitable[None]]
# (user, room, seq): sending moved the user's read marker past others' entries.
OnRead = Callable[[int, int, int], Awaitable[None]]


@dataclass(slots=True)
class _Changing:
    change: Change
    future: asyncio.Future[ChangeEntry | None]


Job = TypeVar("Job", Pending, _Changing)


class MessageWriter:
    """Group commit: up to `max_batch` queued messages per transaction; a batch of
    1 is one commit per message. `on_stored` runs after each commit, before any
    sender is answered."""

    def __init__(
        self,
        engine: AsyncEngine,
        max_batch: int,
        *,
        thread_engine: Engine | None = None,
        on_stored: OnStored | None = None,
        on_read: OnRead | None = None,
    ) -> None:
        self._store = store_for(engine, thread_engine)
        self._max_batch = max_batch
        self._on_stored = on_stored
        self._on_read = on_read
        self._queue: deque[Pending | _Changing] = deque()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="message-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._store.close()
        for job in self._queue:
            _fail(job.future, RuntimeError("the service is shutting down"))
        self._queue.clear()

    def submit(
        self,
        *,
        room_id: int,
        user_id: int,
        username: str | None,
        body: str,
        client_msg_id: str | None = None,
        thread_seq: int | None = None,
        files: tuple[int, ...] = (),
    ) -> asyncio.Future[StoreResult]:
        """Queue a message (a reply with `thread_seq`); the future resolves after its
        commit (and publish), or fails with RoomGone, InvalidThread or InvalidFiles."""
        future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        self._queue.append(Pending(room_id, user_id, username, body, client_msg_id, future, thread_seq, files))
        self._ready.set()
        return future

    async def change(
        self,
        *,
        room_id: int,
        target_seq: int,
        user_id: int,
        username: str,
        is_admin: bool,
        body: str | None,
        edit_window: timedelta | None = None,
    ) -> ChangeEntry | None:
        """Edit (`body`) or delete (None) a message; the entry once committed and
        published, None for a delete of a deleted message. Raises what the checks
        refuse (changes.py)."""
        if body is not None:
            edit = Edit(
                room_id=room_id,
                target_seq=target_seq,
                user_id=user_id,
                username=username,
                body=body,
                edit_window=edit_window,
            )
            return await self.apply(edit)
        delete = Delete(room_id=room_id, target_seq=target_seq, user_id=user_id, username=username, is_admin=is_admin)
        return await self.apply(delete)

    async def apply(self, change: Change) -> ChangeEntry | None:
        """Any change (changes.py: an edit, a delete, a reaction, a pin), queued like `change`."""
        future: asyncio.Future[ChangeEntry | None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Changing(change, future))
        self._ready.set()
        return await future

    async def _run(self) -> None:
        queue = self._queue
        while True:
            await self._ready.wait()
            self._ready.clear()
            while queue:
                if isinstance(queue[0], Pending):
                    await self._store_sends(self._take(Pending))
                else:
                    await self._apply(self._take(_Changing))

    def _take(self, kind: type[Job]) -> list[Job]:
        """The jobs of one kind at the head of the queue, up to a batch."""
        queue, taken = self._queue, list[Job]()
        while queue and len(taken) < self._max_batch and isinstance(job := queue[0], kind):
            taken.append(job)
            queue.popleft()
        return taken

    async def _apply(self, jobs: list[_Changing]) -> None:
        try:
            outcomes = await self._store.apply_changes(changes=[job.change for job in jobs])
        except Exception as exc:
            for job in jobs:
                _fail(job.future, exc)
            return
        entries = [o for o in outcomes if o is not None and not isinstance(o, Exception)]
        if entries:
            await self._publish(entries)
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, Exception):
                _fail(job.future, outcome)
            elif not job.future.done():
                job.future.set_result(outcome)

    async def _store_sends(self, batch: list[Pending]) -> None:
        try:
            results = await self._store.store_sends(sends=batch, look_up_repeats=False)
        except REPEATED:
            # A repeated client_msg_id (a client retrying): one by one, looking repeats up.
            results = []
            for pending in batch:
                try:
                    results += await self._store.store_sends(sends=[pending], look_up_repeats=True)
                except Exception as exc:
                    results.append(exc)
        except Exception as exc:
            results = [exc] * len(batch)
        new = [r.message for r in results if isinstance(r, StoreResult) and r.created]
        if new:
            await self._publish(new)
            await self._tell_readers(results)
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                _fail(pending.future, result)
            elif pending.future is not None and not pending.future.done():
                pending.future.set_result(result)

    async def _publish(self, events: Sequence[StreamEvent]) -> None:
        if self._on_stored is None:
            return
        try:
            await self._on_stored(events)
        except Exception:
            log.exception("publishing stored events failed")

    async def _tell_readers(self, results: Sequence[StoreResult | BaseException]) -> None:
        if self._on_read is None:
            return
        for r in results:
            if isinstance(r, StoreResult) and r.read_past_others:
                try:
                    await self._on_read(r.message.user_id, r.message.room_id, r.message.seq)
                except Exception:
                    log.exception("telling a sender's devices of their read marker failed")


def _fail(future: asyncio.Future[Any] | None, exc: BaseException) -> None:
    if future is not None and not future.done():
        future.set_exception(exc)
