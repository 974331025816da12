"""The messages that mention the caller, newest first: by name (`mentions` rows),
or `@room` in a room they are a member of; never their own, never deleted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, false, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from service import tables
from service.auth.models import User
from service.messages.models import Message

DEFAULT_MY_MENTIONS_PAGE = 20
MAX_MY_MENTIONS_PAGE = 100

_mentions = tables.mentions
_messages = tables.messages
_members = tables.room_members


async def my_mentions(
    session: AsyncSession, user: User, limit: int = DEFAULT_MY_MENTIONS_PAGE, before_id: int | None = None
) -> tuple[Sequence[Message], bool]:
    """A page of messages mentioning the user, newest (highest id) first, below
    `before_id`; and whether more lie below it.

    Mentions reach members only, so a room the user left takes its mentions with
    it. The page's ids come from two lookups, each at most a page long and merged
    here: the user's named mentions walk the primary key (user_id, message_id)
    from its end; `@room` messages come from ix_messages_room_mentions, one range
    per room the user is a member of. A message both naming the user and saying
    `@room` is one item."""
    member_of = select(_members.c.room_id).where(_members.c.user_id == user.id)
    named = select(_mentions.c.message_id).where(_mentions.c.user_id == user.id, _mentions.c.room_id.in_(member_of))
    everyone = select(_messages.c.id).where(
        text("mentions_room"), _messages.c.room_id.in_(member_of), _messages.c.user_id != user.id
    )
    if before_id is not None:
        named = named.where(_mentions.c.message_id < before_id)
        everyone = everyone.where(_messages.c.id < before_id)
    found = set(await _newest(session, named, _mentions.c.message_id, limit + 1))
    found.update(await _newest(session, everyone, _messages.c.id, limit + 1))
    ids = sorted(found, reverse=True)[: limit + 1]
    if not ids:
        return [], False
    rows = await session.scalars(
        select(Message)
        .options(joinedload(Message.user))
        .where(Message.id.in_(ids), Message.deleted == false())
        .order_by(Message.id.desc())
    )
    messages = list(rows)
    return messages[:limit], len(ids) > limit


async def _newest(session: AsyncSession, query: Select[Any], column: ColumnElement[Any], count: int) -> list[int]:
    return list((await session.scalars(query.order_by(column.desc()).limit(count))).all())
