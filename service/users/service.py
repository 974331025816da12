"""Users whose name starts with a prefix, ignoring case, by name."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User

DEFAULT_LOOKUP = 10
MAX_LOOKUP = 20
MAX_PREFIX_CHARS = 32

# What a lower-cased username (username_key) is made of.
_KEY_CHARACTERS = re.compile(r"[a-z0-9_.-]+")
# Above every character a username_key holds ('z' is the highest).
_PAST_EVERY_NAME = "{"


async def users_by_prefix(session: AsyncSession, prefix: str, limit: int = DEFAULT_LOOKUP) -> Sequence[User]:
    """Up to `limit` users whose name starts with `prefix` ignoring case, ordered by
    their lower-cased name. A prefix with a character no name has finds nobody
    (names are ASCII, and their case is ASCII's).

    One range of the unique index on username_key: names are ASCII, so every
    name starting with the prefix lies between it and the prefix followed by a
    character above every name's. That holds where text sorts by code point
    (SQLite; PostgreSQL in the C and C.UTF-8 collations); the exact test on
    the name's start keeps any other collation from adding a name, though it may
    leave out one whose next character is punctuation."""
    if not prefix.isascii():  # before lower(): it makes "k" of the Kelvin sign
        return []
    key = prefix.lower()
    if not _KEY_CHARACTERS.fullmatch(key):
        return []
    found = await session.scalars(
        select(User)
        .where(
            User.username_key >= key,
            User.username_key < key + _PAST_EVERY_NAME,
            func.substr(User.username_key, 1, len(key)) == key,
        )
        .order_by(User.username_key)
        .limit(limit)
    )
    return found.all()
