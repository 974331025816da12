"""Reactions (docs/stream-entries.md, Reactions): a user's emoji added to or removed from a message, an
entry of the stream with the count after it. The message's summary (`reactions`)
is kept in the same transaction, for the one emoji, from the `reactions` rows."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from sqlalchemy import Connection, text

from service.db import utcnow
from service.errors import Conflict, NotFound
from service.messages.blank import is_blank, shows
from service.messages.change_steps import MESSAGE_NOT_FOUND, Locked, Unchanged, entry
from service.messages.entries import ADD, REMOVE, ReactionSummary, StoredReaction
from service.messages.models import REACTION
from service.messages.stream_rows import dump, reactions_of

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


# The target as change_steps.target() reads it, and whether the user has this emoji on it already.
_TARGET = text("""
SELECT m.id, m.deleted, m.reactions,
       EXISTS (SELECT 1 FROM reactions AS r WHERE r.message_id = m.id AND r.emoji = :emoji AND r.user_id = :user_id)
FROM messages AS m WHERE m.room_id = :room_id AND m.seq = :seq AND m.kind = 'message'
""")
_ADD = text("INSERT INTO reactions (message_id, emoji, user_id, seq) VALUES (:message_id, :emoji, :user_id, :seq)")
_REMOVE = text("DELETE FROM reactions WHERE message_id = :message_id AND emoji = :emoji AND user_id = :user_id")
_FIRST = text(f"""
SELECT user_id FROM reactions WHERE message_id = :message_id AND emoji = :emoji ORDER BY seq LIMIT {MAX_USER_IDS}
""")
_SUMMARY = text("""
UPDATE messages SET reactions = :reactions, updated_seq = :seq WHERE room_id = :room_id AND seq = :target_seq
AND kind = 'message'
""")


def react(conn: Connection, change: React, room: Locked) -> StoredReaction:
    """Its target read with the user's own reaction, in one statement: a reaction is
    the commonest change, and each statement costs more than SQLite spends on it."""
    mine = {"emoji": change.emoji, "user_id": change.user_id}
    found = conn.execute(_TARGET, {**mine, "room_id": change.room_id, "seq": change.target_seq}).first()
    if found is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    message_id, deleted, reactions, had = found
    mine["message_id"] = message_id
    summary = list(reactions_of(reactions))
    emojis = [r.emoji for r in summary]
    old = summary[emojis.index(change.emoji)] if change.emoji in emojis else ReactionSummary(change.emoji, 0, ())
    if change.add:
        if deleted:
            raise Conflict("the message was deleted")
        if had:
            raise Unchanged
        if not old.count and len(emojis) >= MAX_EMOJI_PER_MESSAGE:
            raise Conflict(f"too many reactions: a message holds at most {MAX_EMOJI_PER_MESSAGE} emoji")
        conn.execute(_ADD, {**mine, "seq": room.seq})
    else:
        if not had:
            raise Unchanged
        conn.execute(_REMOVE, mine)
    count = old.count + (1 if change.add else -1)
    now_summary = ReactionSummary(change.emoji, count, _first(conn, change, old, mine))
    if not old.count:
        summary.append(now_summary)  # in the order each emoji was first added
    elif count:
        summary[emojis.index(change.emoji)] = now_summary
    else:
        del summary[emojis.index(change.emoji)]
    where = {"room_id": change.room_id, "target_seq": change.target_seq, "seq": room.seq}
    conn.execute(_SUMMARY, {**where, "reactions": dump(summary) if summary else None})
    op = ADD if change.add else REMOVE
    entry(
        conn,
        room_id=change.room_id,
        seq=room.seq,
        kind=REACTION,
        target_seq=change.target_seq,
        user_id=change.user_id,
        now=utcnow(),  # under the lock: changes' times follow their seqs
        detail=dump({"emoji": change.emoji, "op": op, "count": count}),
    )
    return StoredReaction(
        change.room_id, room.seq, change.target_seq, change.user_id, change.username, change.emoji, op, count
    )


def _first(conn: Connection, change: React, old: ReactionSummary, mine: dict[str, Any]) -> tuple[int, ...]:
    """The first MAX_USER_IDS users with the emoji, by the seq that added theirs,
    worked out from the summary unless a user among them left while more had it."""
    if change.add:
        # The newest reaction comes last: listed when there is room.
        return (*old.user_ids, change.user_id) if old.count < MAX_USER_IDS else old.user_ids
    if change.user_id not in old.user_ids:
        return old.user_ids
    if old.count <= MAX_USER_IDS:
        return tuple(u for u in old.user_ids if u != change.user_id)
    return tuple(conn.scalars(_FIRST, {"message_id": mine["message_id"], "emoji": change.emoji}))
