"""What counts as blank text: a message body or a room name must show something.

One rule for REST and the sockets: a text is blank when every character in it is
whitespace or invisible."""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any

# Controls, format characters (zero-width spaces and joiners, bidi marks, tags,
# the soft hyphen) and separators (spaces, line and paragraph separators).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
# Outside those categories but drawn as nothing: the rest of Unicode's
# Default_Ignorable_Code_Point (the combining grapheme joiner, variation selectors,
# Hangul fillers, Khmer inherent vowels, reserved ones), and the braille blank.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def shows(char: str) -> bool:
    """Whether one character is drawn as something."""
    if "!" <= char <= "~":  # printable ASCII, most of what is checked
        return True
    if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
        return False
    code = ord(char)
    return not any(low <= code <= high for low, high in _INVISIBLE_RANGES)


def is_blank(text: str) -> bool:
    """No character of `text` shows; stops at the first one that does."""
    return not any(map(shows, text))


def visible_text(value: str) -> str:
    """A validator: something that shows, and no NUL (PostgreSQL text cannot hold it)."""
    if is_blank(value):
        raise ValueError("must not be blank (whitespace and invisible characters do not count)")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def visible_schema(schema: dict[str, Any]) -> None:
    """The JSON Schema of a `visible_text` string."""
    schema.update(minLength=1, pattern=visible_pattern())


@cache
def visible_pattern() -> str:
    """The rule as a JSON Schema pattern (no NUL, one character that shows), for
    /openapi.json. Characters outside the Basic Multilingual Plane cannot be
    written portably in a pattern: there it is looser than `is_blank`."""
    hidden: list[tuple[int, int]] = []
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF or shows(chr(code)):
            continue
        if hidden and hidden[-1][1] == code - 1:
            hidden[-1] = (hidden[-1][0], code)
        else:
            hidden.append((code, code))
    ranges = "".join(_escape(low) if low == high else f"{_escape(low)}-{_escape(high)}" for low, high in hidden)
    return f"^[^\\u0000]*[^{ranges}][^\\u0000]*$"


def _escape(code: int) -> str:
    return f"\\u{code:04x}"
