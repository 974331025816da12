"""The `before` cursors of the caller's listings (rooms, threads): a place in an
order by time then ids, all descending, as an opaque string of ASCII digits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from service.paging import MAX_DB_INT, MAX_SEQ

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_LAST = datetime.max.replace(tzinfo=UTC)
_LAST_MICROS = (_LAST - _EPOCH) // _MICROSECOND


@dataclass(frozen=True, slots=True)
class Position:
    """A room's place in the listing: the time of its latest stream entry (or
    its creation), then its id, both descending."""

    active_at: datetime
    room_id: int


@dataclass(frozen=True, slots=True)
class ThreadPosition:
    """A thread's place in the listing: the time of its latest reply (or of its
    root), then its room's id, then its root's seq, all descending."""

    active_at: datetime
    room_id: int
    root_seq: int


# "<microseconds since 1970 UTC>_<room id>": exact, since both engines keep microseconds.
CURSOR_PATTERN = r"^[0-9]{1,18}_[0-9]{1,19}$"  # ASCII digits only: int() takes others too
_CURSOR = re.compile(r"([0-9]{1,18})_([0-9]{1,19})")
# The same, then "_<root seq>".
THREAD_CURSOR_PATTERN = r"^[0-9]{1,18}_[0-9]{1,19}_[0-9]{1,10}$"
_THREAD_CURSOR = re.compile(r"([0-9]{1,18})_([0-9]{1,19})_([0-9]{1,10})")
# Longer than any cursor of either form.
MAX_CURSOR_CHARS = 50


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


def _at(micros: str) -> datetime:
    return _EPOCH + min(int(micros), _LAST_MICROS) * _MICROSECOND


def encode_cursor(position: Position) -> str:
    return f"{_micros(position.active_at)}_{position.room_id}"


def decode_cursor(cursor: str) -> Position | None:
    """The position a cursor names; None when it is not in encode_cursor's form. Any
    cursor of that form is a position, beyond the ends included, so what the
    OpenAPI document's pattern admits is always answered."""
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        return None
    return Position(_at(match[1]), min(int(match[2]), MAX_DB_INT))


def encode_thread_cursor(position: ThreadPosition) -> str:
    return f"{_micros(position.active_at)}_{position.room_id}_{position.root_seq}"


def decode_thread_cursor(cursor: str) -> ThreadPosition | None:
    """As decode_cursor, for encode_thread_cursor's form."""
    match = _THREAD_CURSOR.fullmatch(cursor)
    if match is None:
        return None
    return ThreadPosition(_at(match[1]), min(int(match[2]), MAX_DB_INT), min(int(match[3]), MAX_SEQ))
