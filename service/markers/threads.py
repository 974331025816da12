"""Markers in threads: moving a follower's, and the threads the caller follows
with their unread and mention counts.

A row of thread_markers is a follow: the store writes it when the user writes
the root or a reply, or is mentioned in one (messages/). Only followers have a
marker, so reading a thread one does not follow keeps nothing."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import and_, case, false, func, literal, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from service import tables
from service.auth.models import User
from service.db import UTCDateTime
from service.markers import counts
from service.markers.cursors import ThreadPosition
from service.messages.models import MESSAGE, Message
from service.rooms.models import Room, RoomMember

DEFAULT_MY_THREADS_PAGE = 50
MAX_MY_THREADS_PAGE = 100

_markers = tables.thread_markers
_messages = tables.messages


async def is_thread(session: AsyncSession, room_id: int, seq: int) -> bool:
    """Whether the entry at `seq` is a top-level message (deleted or not): a thread's root."""
    found = await session.scalar(
        select(literal(1)).where(
            _messages.c.room_id == room_id,
            _messages.c.seq == seq,
            _messages.c.kind == MESSAGE,
            _messages.c.thread_seq.is_(None),
        )
    )
    return found is not None


async def mark_thread_read(session: AsyncSession, room_id: int, user_id: int, root_seq: int, seq: int) -> int | None:
    """Move the follower's marker in the thread forward to min(seq, the thread's
    newest reply, deleted or not); the new marker, or None when it did not move
    (already there, or the user does not follow the thread)."""
    newest = (
        select(func.max(_messages.c.seq))
        .where(_messages.c.room_id == room_id, _messages.c.thread_seq == root_seq)
        .scalar_subquery()
    )
    last = func.coalesce(newest, root_seq)
    target = case((last < seq, last), else_=literal(seq))
    moved = await session.execute(
        update(_markers)
        .where(
            _markers.c.user_id == user_id,
            _markers.c.room_id == room_id,
            _markers.c.root_seq == root_seq,
            _markers.c.last_read_seq < target,
        )
        .values(last_read_seq=target)
        .returning(_markers.c.last_read_seq)
    )
    seen: int | None = moved.scalar()
    return seen


async def follows_thread(session: AsyncSession, room_id: int, user_id: int, root_seq: int) -> bool:
    found = await session.scalar(
        select(literal(1)).where(
            _markers.c.user_id == user_id, _markers.c.room_id == room_id, _markers.c.root_seq == root_seq
        )
    )
    return found is not None


class ListedThread(NamedTuple):
    root: Message
    last_read_seq: int
    unread: int
    mentions: int


async def my_threads(
    session: AsyncSession, user: User, limit: int = DEFAULT_MY_THREADS_PAGE, before: ThreadPosition | None = None
) -> tuple[list[ListedThread], ThreadPosition | None]:
    """A page of the threads the user follows in rooms they may read, the most
    recently replied first, below `before`; and the position to ask the next page
    below, None when this page is the last.

    As for rooms (service.my_rooms), the page is chosen first from the user's
    follows (each root by the unique (room_id, seq)), then only its threads are
    counted, each from its index above the follower's marker (counts.py), never
    from the thread's whole history. `@room` in a reply mentions the room's
    members only, so it counts for a follower who is one."""
    roots = aliased(Message, name="roots")
    member = RoomMember.user_id.is_not(None)
    active_at = func.coalesce(roots.last_reply_at, roots.created_at)
    listed = (
        select(
            _markers.c.room_id.label("room_id"),
            _markers.c.root_seq.label("root_seq"),
            _markers.c.last_read_seq.label("last_read_seq"),
            active_at.label("active_at"),
            member.label("member"),
        )
        .join(roots, and_(roots.room_id == _markers.c.room_id, roots.seq == _markers.c.root_seq))
        .join(Room, Room.id == _markers.c.room_id)
        .outerjoin(RoomMember, and_(RoomMember.room_id == _markers.c.room_id, RoomMember.user_id == user.id))
        .where(_markers.c.user_id == user.id)
    )
    if not user.is_admin:  # who may read the room, as GET /rooms/{id}
        listed = listed.where(or_(Room.private == false(), member))
    found = listed.subquery("listed")
    page = select(found)
    if before is not None:
        key = tuple_(found.c.active_at, found.c.room_id, found.c.root_seq)
        place = tuple_(literal(before.active_at, UTCDateTime()), literal(before.room_id), literal(before.root_seq))
        page = page.where(key < place)
    order = (found.c.active_at.desc(), found.c.room_id.desc(), found.c.root_seq.desc())
    # A subquery with its LIMIT, as for rooms: only the page's threads are counted.
    chosen = page.order_by(*order).limit(limit + 1).subquery("chosen")
    room_id, root_seq, after = chosen.c.room_id, chosen.c.root_seq, chosen.c.last_read_seq
    unread = counts.unread_replies(room_id, root_seq, after, user.id)
    everyone = case((chosen.c.member, counts.everyone(room_id, root_seq, after, user.id)), else_=literal(0))
    mentions = counts.named(room_id, root_seq, after, user.id) + everyone
    shown = aliased(Message, name="root")
    rows = (
        await session.execute(
            select(shown, after, unread, mentions, chosen.c.active_at)
            .join(chosen, and_(shown.room_id == room_id, shown.seq == root_seq))
            .options(joinedload(shown.user))
            .order_by(chosen.c.active_at.desc(), room_id.desc(), root_seq.desc())
        )
    ).all()
    items = [ListedThread(root, last_read, n, mentioned) for root, last_read, n, mentioned, _ in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last_root, *_, last_at = rows[limit - 1]
    return items, ThreadPosition(last_at, last_root.room_id, last_root.seq)
