"""Texts that show nothing: each is refused as a message body or a room name."""

from __future__ import annotations

INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "Mongolian vowel separator": "\u180e",
    "Hangul filler": "\u3164",
    "Hangul choseong filler": "\u115f",
    "Hangul jungseong filler": "\u1160",
    "halfwidth Hangul filler": "\uffa0",
    "braille blank": "\u2800",
    "left-to-right mark": "\u200e",
    "right-to-left mark": "\u200f",
    "bidi embeddings and overrides": "\u202a\u202b\u202c\u202d\u202e",
    "bidi isolates": "\u2066\u2067\u2068\u2069",
    "combining grapheme joiner": "\u034f",
    "variation selectors": "\ufe0e\ufe0f\U000e0100",
    "tag characters": "\U000e0001\U000e0067\U000e0062\U000e007f",
    "line and paragraph separators": "\u2028\u2029",
    "information separators": "\x1c\x1d\x1e\x1f",
    "ideographic space": "\u3000",
    "mixed with whitespace": " \u200b\t\u2060\n\u00a0\ufeff ",
}
