"""What a user types, as terms; and the terms in each engine's own syntax.

Only words (words.py) ever reach an engine, each quoted there, so nothing of
the engine's own syntax (operators, columns, NEAR, :*, &, |, !) can come through
from the user. A bare word must match a whole word; `word*` a prefix; a chunk of
several words (`"…"` or `e-mail`) a phrase; every term must match. A query with
no words matches nothing. A query is bounded: at most MAX_TERMS terms, and a
prefix of at least MIN_PREFIX_CHARS characters (a shorter one matches too many
words to look up)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.search.words import words

MAX_QUERY_CHARS = 500
MAX_TERMS = 16
MIN_PREFIX_CHARS = 2

# A quoted phrase (an unclosed quote runs to the end), or a chunk between spaces and quotes.
_CHUNK = re.compile(r'"([^"]*)"?|([^\s"]+)')


class QueryError(ValueError):
    """A query past the bounds; the message says which, in words."""


@dataclass(frozen=True, slots=True)
class Term:
    words: tuple[str, ...]  # one word, or a phrase; folded as the index is
    prefix: bool = False  # the last word matches as a prefix


def parse(text: str) -> list[Term]:
    terms: list[Term] = []
    for quoted, bare in _CHUNK.findall(text):
        found = tuple(words(quoted or bare))
        if not found:
            continue
        prefix = bool(bare) and bare.endswith("*")
        if prefix and len(found[-1]) < MIN_PREFIX_CHARS:
            raise QueryError(f"a prefix needs at least {MIN_PREFIX_CHARS} characters")
        terms.append(Term(found, prefix))
    if len(terms) > MAX_TERMS:
        raise QueryError(f"at most {MAX_TERMS} terms")
    return terms


def fts5(terms: list[Term]) -> str:
    """An FTS5 MATCH expression: `"a" "b c" "d"*` (implicit AND)."""
    return " ".join(f'"{" ".join(t.words)}"' + ("*" if t.prefix else "") for t in terms)


def tsquery(terms: list[Term]) -> str:
    """A tsquery literal, its lexemes taken as they are: `'a' & ('b' <-> 'c') & 'd':*`."""
    parts = []
    for t in terms:
        lexemes = [f"'{w}'" for w in t.words]
        if t.prefix:
            lexemes[-1] += ":*"
        parts.append(lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts)
