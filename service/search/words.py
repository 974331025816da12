"""What search counts as a word, for a message's body and a query alike.

Both engines index the text `searchable()` makes of a body, and every query goes
through `words()`, so SQLite and PostgreSQL split and fold exactly alike: neither
engine's own tokenizer decides (PostgreSQL's keeps e-mail addresses, URLs and
version numbers whole and depends on the database's locale; SQLite's knows the
Unicode of 2012, so a newer emoji glued to a word joined it).

A word is a run of letters and digits, with the combining marks that follow them
(Devanagari vowel signs, Arabic vowel marks). Compatibility forms count as their
plain letters (full-width `Ａ`, the ligature `ﬁ`, superscript `²`). Case never
counts (`Straße` = `STRASSE`). Accents on the letters a-z do not count (`café` =
`cafe`, `İstanbul` = `Istanbul`); marks on other letters do (`й` ≠ `и`)."""

from __future__ import annotations

import re
import unicodedata

# Longer words are cut to this many characters, on both sides: a PostgreSQL
# lexeme holds at most 2,047 bytes.
MAX_WORD_CHARS = 500


def _ranges(cps: list[int]) -> str:
    """Code points as the inside of a regex class, in ranges."""
    ranges: list[tuple[int, int]] = []
    for cp in cps:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in ranges)


# Every combining mark (Unicode assigns them in planes 0, 1 and 14), in two classes:
# the BMP's compiles to a bitmap, and the rest is tried only past the BMP.
_MARKS = [cp for cp in (*range(0x20000), *range(0xE0000, 0xE1000)) if unicodedata.category(chr(cp))[0] == "M"]
_BMP_MARKS = _ranges([cp for cp in _MARKS if cp <= 0xFFFF])
_OTHER_MARKS = _ranges([cp for cp in _MARKS if cp > 0xFFFF])
_ASCII_WORD = re.compile(r"[a-z0-9]+")
# A letter or digit, then letters, digits and marks (once "_" is gone, \w is letters and digits).
_WORD = re.compile(rf"[^\W_][\w{_BMP_MARKS}]*(?:(?=[\U00010000-\U0010ffff])[{_OTHER_MARKS}]+[\w{_BMP_MARKS}]*)*")
# Accents on the ASCII letters and digits, once decomposed (the Latin letters'
# accents all decompose to this block).
_ASCII_ACCENTS = re.compile("[\u0300-\u036f](?<=[a-z0-9][\u0300-\u036f])[\u0300-\u036f]*")


def words(text: str) -> list[str]:
    """The words of `text`, folded, in order."""
    if text.isascii():
        found = _ASCII_WORD.findall(text.lower())
    else:
        folded = _ASCII_ACCENTS.sub("", unicodedata.normalize("NFKD", text).casefold().replace("_", " "))
        if not unicodedata.is_normalized("NFC", folded):
            folded = unicodedata.normalize("NFC", folded)
        found = _WORD.findall(folded)
    return [w[:MAX_WORD_CHARS] for w in found]


def searchable(body: str) -> str:
    """What the engines index of a message's body: its words, one space apart."""
    return " ".join(words(body))
