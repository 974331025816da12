"""Both engines find the same messages for the same query: words are split and
folded the same way, whatever PostgreSQL's parser or locale and
SQLite's tokenizer would have made of them."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service.main import create_app
from tests.conftest import TABLES, Api, _pg, make_settings, state_of
from tests.storing import store_message

BODIES = [
    "write to Alice.Smith@example.com today",  # 0
    "see https://docs.example.org/guide/install.html#step-2",  # 1
    "host api.v2.example.net is down",  # 2
    "log at /var/log/chat/service.log",  # 3
    "upgrade to v1.2.3 now",  # 4
    "pi is 3.14159",  # 5
    "Café au lait",  # 6
    "cafe racer",  # 7
    "İstanbul trip",  # 8
    "ISTANBUL in spring",  # 9
    "東京タワーに行きました",  # 10
    "MixedCase CamelCase",  # 11
    "Straße",  # 12
    "lol🤣 that was fun",  # 13: an emoji newer than SQLite's Unicode tables, glued on
    "C:\\Users\\Bob\\notes.txt",  # 14
    "1,000,000 users",  # 15
    "x² and H₂O",  # 16
    "हिन्दी भाषा",  # 17: vowel signs and virama are marks inside the word
    "snake_case_name",  # 18
    "Ｆｕｌｌ width",  # 19
    "㌀" * 1000,  # 20: one word of 4,000 characters (12,000 bytes) once decomposed
]

# query -> the BODIES it finds, newest first
PROBES: dict[str, list[int]] = {
    "alice": [0],
    "SMITH": [0],
    "example": [2, 1, 0],
    "com": [0],
    "alice.smith@example.com": [0],
    '"alice smith example com"': [0],
    "alice.smith@example.org": [],
    "docs.example.org": [1],
    "install": [1],
    "html": [1],
    "step": [1],
    "https://docs.example.org/guide/install.html#step-2": [1],
    "api.v2.example.net": [2],
    "v2": [2],
    "exam*": [2, 1, 0],
    "/var/log/chat/service.log": [3],
    "log": [3],
    "chat/service": [3],
    "v1.2.3": [4],
    "2.3": [4],
    "1.2.3": [],  # v1 is the word, not 1
    "v1": [4],
    "3": [5, 4],
    "3.14159": [5],
    "14159": [5],
    "3.14": [],
    "café": [7, 6],
    "CAFE": [7, 6],
    "cafe\u0301": [7, 6],
    "istanbul": [9, 8],
    "İSTANBUL": [9, 8],
    "ıstanbul": [],
    "東京タワーに行きました": [10],
    "東京*": [10],
    "タワー": [],
    "mixedcase": [11],
    "camel*": [11],
    "strasse": [12],
    "STRASSE": [12],
    "lol": [13],
    "users": [15, 14],
    "notes.txt": [14],
    "c:\\users": [14],
    "1,000,000": [15],
    "000": [15],
    "x2": [16],
    "h2o": [16],
    "हिन्दी": [17],
    "snake": [18],
    "snake_case_name": [18],
    "full": [19],
    "ＷＩＤＴＨ": [19],
    "㌀" * 500: [20],  # both cut it where they cut the message's word
}


@contextlib.asynccontextmanager
async def _api(database_url: str) -> AsyncIterator[Api]:
    app = create_app(make_settings(database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
            yield Api(client, state_of(app))


async def _found_on(database_url: str) -> dict[str, list[int]]:
    """Each probe's answer, as indexes into BODIES."""
    async with _api(database_url) as api:
        alice = await api.user("alice")
        room = await api.room(alice, "probes")
        index_of = {}
        for i, body in enumerate(BODIES):
            stored = await store_message(api.state.engine, room["id"], room["owner_id"], body)
            index_of[stored.message.id] = i
        found = {}
        for q in PROBES:
            r = await api.client.get("/search", params={"q": q, "limit": 100}, headers=alice)
            assert r.status_code == 200, (q, r.text)
            found[q] = [index_of[m["id"]] for m in r.json()["items"]]
        return found


@pytest.fixture
def both_engines(migrated_template: Path, tmp_path: Path, postgres_url: str) -> tuple[str, str]:
    """A fresh SQLite database and the emptied PostgreSQL one."""
    path = tmp_path / "probes.db"
    shutil.copyfile(migrated_template, path)
    _pg(postgres_url.replace("+asyncpg", ""), f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    return f"sqlite+aiosqlite:///{path}", postgres_url


async def test_one_probe_list_finds_the_same_messages_on_both_engines(both_engines: tuple[str, str]) -> None:
    on_sqlite = await _found_on(both_engines[0])
    on_postgres = await _found_on(both_engines[1])
    differ = {q: (on_sqlite[q], on_postgres[q]) for q in PROBES if on_sqlite[q] != on_postgres[q]}
    assert not differ, f"SQLite and PostgreSQL disagree (query: (sqlite, postgresql)): {differ}"
    wrong = {q: (on_sqlite[q], want) for q, want in PROBES.items() if on_sqlite[q] != want}
    assert not wrong, f"found, expected: {wrong}"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("Alice.Smith@Example.COM", ["alice", "smith", "example", "com"]),
        ("v1.2.3 / 3.14159", ["v1", "2", "3", "3", "14159"]),
        ("Café CAFÉ cafe\u0301 Việt", ["cafe", "cafe", "cafe", "viet"]),
        ("İstanbul ıstanbul", ["istanbul", "ıstanbul"]),
        ("мой мои", ["мой", "мои"]),  # marks on other letters than a-z count
        ("Straße ΟΔΟΣ", ["strasse", "οδοσ"]),
        ("ﬁle x² Ⅻ", ["file", "x2", "xii"]),
        ("snake_case", ["snake", "case"]),
        ("party🥳time", ["party", "time"]),
        ("\x00cat\u200bdog", ["cat", "dog"]),
        ("", []),
    ],
)
def test_words_are_runs_of_letters_and_digits_folded(body: str, words: list[str]) -> None:
    from service.search.words import searchable

    assert searchable(body) == " ".join(words)


def test_a_word_is_cut_under_postgresqls_lexeme_limit() -> None:
    from service.search.words import MAX_WORD_CHARS, words

    (word,) = words("𝔞" * 2000)  # four bytes a character, 'a' once folded
    assert word == "a" * MAX_WORD_CHARS
    (word,) = words("𠀀" * 2000)  # four bytes, and no plainer form
    assert len(word) == MAX_WORD_CHARS and len(word.encode()) <= 2047
