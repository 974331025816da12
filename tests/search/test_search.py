"""GET /search: whole words, prefixes, phrases; only what the caller may read (docs/protocol.md)."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.storing import store_message


async def _room_with(api: Api, headers: dict[str, str], name: str, bodies: list[str], **fields: object) -> dict:
    room = await api.room(headers, name, **fields)
    for body in bodies:
        await store_message(api.state.engine, room["id"], room["owner_id"], body)
    return room


async def _found(api: Api, headers: dict[str, str], q: str, **params: object) -> list[str]:
    r = await api.client.get("/search", params={"q": q, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return [m["body"] for m in r.json()["items"]]


TEXTS = [
    "the cat sat on the mat",
    "concatenate strings",
    "cats and dogs",
    "a catalog of dogs",
    "Sat the cat",
    "e-mail me at noon",
]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("cat", ["Sat the cat", "the cat sat on the mat"]),
        ("CAT", ["Sat the cat", "the cat sat on the mat"]),
        ("cat*", ["Sat the cat", "a catalog of dogs", "cats and dogs", "the cat sat on the mat"]),
        ('"cat sat"', ["the cat sat on the mat"]),
        ("cat dogs", []),
        ("cat* dogs", ["a catalog of dogs", "cats and dogs"]),
        ("dogs cat*", ["a catalog of dogs", "cats and dogs"]),
        ("e-mail", ["e-mail me at noon"]),
        ('"mail me"', ["e-mail me at noon"]),
        ("noon!!", ["e-mail me at noon"]),
    ],
)
async def test_words_prefixes_and_phrases(api: Api, q: str, expected: list[str]) -> None:
    alice = await api.user("alice")
    await _room_with(api, alice, "general", TEXTS)
    assert await _found(api, alice, q) == expected


async def test_only_rooms_the_caller_may_read(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    admin = await api.user("root", admin=True)
    public = await _room_with(api, alice, "public", ["secret plans, public"])
    hidden = await _room_with(api, alice, "hidden", ["secret plans, private"], private=True)
    assert await _found(api, bob, "secret") == ["secret plans, public"]
    assert await _found(api, bob, "secret", room_id=hidden["id"]) == []
    assert await _found(api, bob, "secret", room_id=public["id"]) == ["secret plans, public"]
    assert await _found(api, alice, "secret") == ["secret plans, private", "secret plans, public"]
    assert await _found(api, admin, "secret") == ["secret plans, private", "secret plans, public"]
    await api.client.post(f"/rooms/{hidden['id']}/members", json={"username": "bob"}, headers=alice)
    assert len(await _found(api, bob, "secret")) == 2


async def test_edits_are_found_by_their_current_body_deletes_never(api: Api) -> None:
    alice = await api.user("alice")
    room = await _room_with(api, alice, "general", ["first draft", "to be removed", "draft two"])
    rid = room["id"]
    r = await api.client.patch(f"/rooms/{rid}/messages/1", json={"body": "final version"}, headers=alice)
    assert r.status_code == 200, r.text
    assert (await api.client.delete(f"/rooms/{rid}/messages/2", headers=alice)).status_code == 204
    assert await _found(api, alice, "draft") == ["draft two"]
    assert await _found(api, alice, "final") == ["final version"]
    assert await _found(api, alice, "removed") == []
    # The edit event's body is not a message of its own.
    assert await _found(api, alice, "version") == ["final version"]


async def test_newest_first_paged_by_before_id(api: Api) -> None:
    alice = await api.user("alice")
    await _room_with(api, alice, "general", [f"needle {i}" for i in range(7)])
    r = (await api.client.get("/search", params={"q": "needle", "limit": 3}, headers=alice)).json()
    assert [m["body"] for m in r["items"]] == ["needle 6", "needle 5", "needle 4"] and r["has_more"] is True
    before = r["items"][-1]["id"]
    r = (await api.client.get("/search", params={"q": "needle", "before_id": before}, headers=alice)).json()
    assert [m["body"] for m in r["items"]] == ["needle 3", "needle 2", "needle 1", "needle 0"]
    assert r["has_more"] is False


HOSTILE = [
    "*",
    '"',
    '""',
    "'",
    "a' OR '1'='1",
    "cat OR dog",
    "cat AND NOT dog",
    "NEAR(cat dog)",
    "body:cat",
    "cat:*",
    "cat & dog | !mat",
    "-cat",
    "^cat",
    "(cat",
    "\\",
    "\x00cat",
    "cat\x00",
    "🐈 cat",
    "x" * 500,
    " ".join(["cat"] * 16),
    " ".join(["cat"] * 17),
    "'; DROP TABLE messages; --",
    '"cat" * "dog"',
    "***",
    "c*t",
    "\u202ecat",
]


@pytest.mark.parametrize("q", HOSTILE)
async def test_whatever_q_holds_the_answer_is_200_or_422(api: Api, q: str) -> None:
    """Never 500; 503 only when the database cannot answer in time, which these
    few messages never cause."""
    alice = await api.user("alice")
    await _room_with(api, alice, "general", TEXTS)
    r = await api.client.get("/search", params={"q": q}, headers=alice)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert all("cat" in m["body"].lower() or "x" in m["body"] for m in r.json()["items"]) or "cat" not in q


# Past the bounds (422), quoting and NUL, punctuation and Unicode at their longest.
HOSTILE_AT_LENGTH = [
    "a*",
    "cat a*",
    '"""',
    '"' * 500,
    "\x00",
    "\x00" * 500,
    "!" * 500,
    "*" * 500,
    "a" * 500,
    "é*" * 250,
    "ﷺ" * 500,  # each one four words once decomposed: one phrase of 2,000
    "㌀" * 500,  # one word of 2,000 characters once decomposed: over PostgreSQL's lexeme limit
    '"' + " ".join(["cat"] * 249) + '"',
    "\u0301" * 500,
    "\u200b" * 500,
    "𝔠𝔞𝔱 " * 100,
    "\U0010ffff" * 500,
    "cat <-> mat",
    "cat:* & !mat",
]


async def test_hostile_queries_at_their_longest_are_200_or_422(api: Api) -> None:
    alice = await api.user("alice")
    await _room_with(api, alice, "general", TEXTS)
    for q in HOSTILE_AT_LENGTH:
        r = await api.client.get("/search", params={"q": q}, headers=alice)
        assert r.status_code in (200, 422), (q[:20], r.text)


PAST_THE_BOUNDS = [
    (" ".join(f"w{i}" for i in range(17)), "at most 16 terms"),
    (" ".join(["cat"] * 17), "at most 16 terms"),
    ('"a b" ' * 17, "at most 16 terms"),
    ("a*", "a prefix needs at least 2 characters"),
    ("cat a*", "a prefix needs at least 2 characters"),
    ("e-mail.b*", "a prefix needs at least 2 characters"),
    ("é*", "a prefix needs at least 2 characters"),
]


async def test_too_many_terms_or_too_short_a_prefix_is_422_with_the_reason(api: Api) -> None:
    alice = await api.user("alice")
    for q, reason in PAST_THE_BOUNDS:
        r = await api.client.get("/search", params={"q": q}, headers=alice)
        assert r.status_code == 422, (q, r.text)
        assert r.json() == {"detail": [{"type": "value_error", "loc": ["query", "q"], "msg": reason}]}, q


async def test_at_the_bounds_the_query_runs(api: Api) -> None:
    alice = await api.user("alice")
    await _room_with(api, alice, "general", TEXTS)
    sixteen = " ".join(["cat"] * 8 + ['"the cat"'] * 7 + ["sa*"])
    assert await _found(api, alice, sixteen) == ["Sat the cat", "the cat sat on the mat"]
    assert await _found(api, alice, "ca*") == [
        "Sat the cat",
        "a catalog of dogs",
        "cats and dogs",
        "the cat sat on the mat",
    ]
    # Quoted, a star is punctuation: a one-letter word, no prefix.
    assert await _found(api, alice, '"a*"') == ["a catalog of dogs"]
    assert await _found(api, alice, "* * cat *") == ["Sat the cat", "the cat sat on the mat"]


async def test_overlong_and_empty_queries_are_422_and_wordless_ones_find_nothing(api: Api) -> None:
    alice = await api.user("alice")
    await _room_with(api, alice, "general", TEXTS)
    for q in ("", "x" * 501, "x" * 2000):
        r = await api.client.get("/search", params={"q": q}, headers=alice)
        assert r.status_code == 422, (q[:20], r.text)
    for q in ("*", "!!!", '""', "* * *"):
        assert await _found(api, alice, q) == []
    sixteen = " ".join(["cat"] * 15 + ["sat"])
    assert await _found(api, alice, sixteen) == ["Sat the cat", "the cat sat on the mat"]
    assert (await api.client.get("/search", params={"q": "cat"})).status_code == 401


async def test_common_words_page_alike(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL looks a word up in the index before choosing how to page it (service.PROBE):
    a word past the probe pages the same as a rare one."""
    from service.search import service

    monkeypatch.setattr(service, "PROBE", 2)
    alice, bob = await api.user("alice"), await api.user("bob")
    await _room_with(api, alice, "general", [f"needle {i}" for i in range(5)])
    await _room_with(api, alice, "hidden", ["needle hidden"], private=True)
    assert await _found(api, bob, "needle", limit=2) == ["needle 4", "needle 3"]
    r = (await api.client.get("/search", params={"q": "needle", "limit": 10}, headers=bob)).json()
    assert [m["body"] for m in r["items"]] == [f"needle {i}" for i in range(4, -1, -1)] and not r["has_more"]
    assert len(await _found(api, alice, "needle")) == 6
