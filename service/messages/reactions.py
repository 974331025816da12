"""Reactions (docs/stream-entries.md, Reactions): a user's emoji added to or removed from a message, an
entry of the stream with the count after it. The message's summary (`reactions`)
is kept in the same transaction, for the one emoji, from the `reactions` rows."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.errors import Conflict
from service.messages.blank import is_blank, shows
from service.messages.change_steps import Locked, Target, Unchanged, change_target, entry
from service.messages.entries import ADD, REMOVE, ReactionSummary, StoredReaction
from service.messages.models import REACTION
from service.messages.stream_rows import dump, reactions_of
from service.tables import reactions

MAX_EMOJI_BYTES: Final = 64
MAX_EMOJI_PER_MESSAGE: Final = 20
MAX_USER_IDS: Final = 100  # of each emoji, in a message's summary
_WHITESPACE_OR_CONTROL = frozenset({"Cc", "Zs", "Zl", "Zp"})


def emoji_problem(emoji: str) -> str | None:
    """What makes `emoji` no emoji: 1 to 64 bytes of UTF-8 that show, no whitespace
    or control characters (a Unicode emoji, or a `:shortcode:`). None when fine."""
    try:
        size = len(emoji.encode())
    except UnicodeEncodeError:
        return "must be UTF-8"
    if not 0 < size <= MAX_EMOJI_BYTES:
        return f"must be 1 to {MAX_EMOJI_BYTES} bytes of UTF-8"
    if any(c.isspace() or unicodedata.category(c) in _WHITESPACE_OR_CONTROL for c in emoji) or is_blank(emoji):
        return "must not contain whitespace or control characters"
    return None


def emoji_schema(schema: dict[str, Any]) -> None:
    """The JSON Schema of an emoji: a pattern that only takes what `emoji_problem`
    accepts (a byte count has no keyword): up to 64 printable ASCII characters (a
    :shortcode:), or up to 16 characters (at most 64 bytes) that start with one that
    shows and hold no whitespace or control character."""
    schema.update(pattern=_emoji_pattern())


@cache
def _emoji_pattern() -> str:
    hidden = _ranges(lambda c: not shows(c))
    spaces = _ranges(lambda c: c.isspace() or unicodedata.category(c) in _WHITESPACE_OR_CONTROL)
    return f"^(?:[!-~]{{1,{MAX_EMOJI_BYTES}}}|[^{hidden}][^{spaces}]{{0,15}})$"


def _ranges(hide: Any) -> str:
    """The characters of the Basic Multilingual Plane that `hide` holds, as a
    character class's ranges (surrogates left out: a pattern cannot name them
    portably, and no URL decodes to one)."""
    found: list[tuple[int, int]] = []
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF or not hide(chr(code)):
            continue
        if found and found[-1][1] == code - 1:
            found[-1] = (found[-1][0], code)
        else:
            found.append((code, code))
    return "".join(f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}" for low, high in found)


@dataclass(frozen=True, slots=True, kw_only=True)
class React:
    """The user adds (`add`) or removes `emoji` on the message at `target_seq`."""

    room_id: int
    target_seq: int
    user_id: int
    username: str
    emoji: str
    add: bool


async def react(conn: AsyncConnection, change: React, room: Locked, target: Target, now: datetime) -> StoredReaction:
    mine = (
        (reactions.c.message_id == target.id),
        (reactions.c.emoji == change.emoji),
        (reactions.c.user_id == change.user_id),
    )
    had = await conn.scalar(select(reactions.c.seq).where(*mine)) is not None
    summary = list(reactions_of(target.reactions))
    emojis = [r.emoji for r in summary]
    if change.add:
        if target.deleted:
            raise Conflict("the message was deleted")
        if had:
            raise Unchanged
        if change.emoji not in emojis and len(emojis) >= MAX_EMOJI_PER_MESSAGE:
            raise Conflict(f"too many reactions: a message holds at most {MAX_EMOJI_PER_MESSAGE} emoji")
        await conn.execute(
            insert(reactions).values(message_id=target.id, emoji=change.emoji, user_id=change.user_id, seq=room.seq)
        )
    else:
        if not had:
            raise Unchanged
        await conn.execute(delete(reactions).where(*mine))
    first = await conn.scalars(
        select(reactions.c.user_id)
        .where(reactions.c.message_id == target.id, reactions.c.emoji == change.emoji)
        .order_by(reactions.c.seq)
        .limit(MAX_USER_IDS)
    )
    before = summary[emojis.index(change.emoji)].count if change.emoji in emojis else 0
    count = before + (1 if change.add else -1)
    now_summary = ReactionSummary(change.emoji, count, tuple(first))
    if change.emoji not in emojis:
        summary.append(now_summary)  # in the order each emoji was first added
    elif count:
        summary[emojis.index(change.emoji)] = now_summary
    else:
        del summary[emojis.index(change.emoji)]
    await change_target(conn, change.room_id, change.target_seq, room.seq, reactions=dump(summary) if summary else None)
    op = ADD if change.add else REMOVE
    await entry(
        conn,
        room_id=change.room_id,
        seq=room.seq,
        kind=REACTION,
        target_seq=change.target_seq,
        user_id=change.user_id,
        now=now,
        detail=dump({"emoji": change.emoji, "op": op, "count": count}),
    )
    return StoredReaction(
        change.room_id, room.seq, change.target_seq, change.user_id, change.username, change.emoji, op, count
    )
