"""Search: the box in the top bar, its results, and a result opening its room at the message."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, send_over_websocket, unique

pytestmark = pytest.mark.slow

ANSWERED = re.compile(r"^(No messages match .*|\d+ match(es)?.*|Cannot search for that: [a-z].*)$")


def _search(chat: ChatPage, query: str) -> None:
    """Type the query, press Enter, and wait for the answer."""
    box = chat.page.get_by_role("searchbox", name="Search messages")
    box.fill(query)
    box.press("Enter")
    expect(chat.page.locator("#search-panel")).to_be_visible()
    expect(chat.page.locator("#search-status")).not_to_have_text(re.compile("^(Searching…)?$"))


def _results(chat: ChatPage) -> Any:
    return chat.page.locator("#search-results li")


def _marked(chat: ChatPage) -> Any:
    return chat.page.locator("#messages li.marked")


def test_a_result_opens_its_room_with_the_message_marked(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    author, garden, kitchen = unique("gus"), unique("garden"), unique("kitchen")
    word = unique("tomato").replace("_", "")
    token = rest.user(author)
    garden_id = rest.call("POST", "/rooms", token, 201, json={"name": garden})["id"]
    kitchen_id = rest.call("POST", "/rooms", token, 201, json={"name": kitchen})["id"]
    send_over_websocket(service.base, token, garden_id, [f"the {word}es are ripe", "weeding tomorrow", "rain later"])
    send_over_websocket(service.base, token, kitchen_id, [f"{word} soup tonight"])
    chat = open_page(service.base)
    chat.sign_up(unique("rita"))
    box = chat.page.get_by_role("searchbox", name="Search messages")
    expect(box).to_be_visible()

    # Whole words: only the kitchen's; a prefix: both, newest first, each with author, room, time and text.
    _search(chat, word)
    expect(_results(chat)).to_have_count(1)
    _search(chat, f"{word}*")
    expect(chat.page.locator("#search-status")).to_have_text("2 matches.")
    expect(_results(chat).locator(".result-body")).to_have_text([f"{word} soup tonight", f"the {word}es are ripe"])
    expect(_results(chat).locator(".result-author")).to_have_text([author, author])
    expect(_results(chat).locator(".result-room")).to_have_text([f"in {kitchen}", f"in {garden}"])
    expect(_results(chat).locator("time")).to_have_count(2)

    # Escape closes the results and leaves the words in the box.
    box.press("Escape")
    expect(chat.page.locator("#search-panel")).to_be_hidden()
    expect(box).to_be_focused()
    expect(box).to_have_value(f"{word}*")

    # A result opens the room (a public one the user is not in) at the message, marked and in view.
    box.press("Enter")
    _results(chat).nth(1).get_by_role("button").click()
    expect(chat.page.locator("#search-panel")).to_be_hidden()
    chat.wait_live()
    expect(chat.page.locator("#room-title")).to_have_text(garden)
    expect(_marked(chat)).to_have_count(1)
    expect(_marked(chat).locator(".body")).to_have_text(f"the {word}es are ripe")
    expect(_marked(chat)).to_be_in_viewport()
    expect(_marked(chat)).to_be_focused()
    expect(chat.messages).to_have_count(3)

    # From the keyboard: Tab from the box reaches the results, Enter opens one; the mark moves.
    _search(chat, f"{word}*")
    for _ in range(10):
        chat.page.keyboard.press("Tab")
        if chat.page.evaluate("document.activeElement.classList.contains('search-result')"):
            break
    chat.page.keyboard.press("Enter")
    expect(chat.page.locator("#room-title")).to_have_text(kitchen)
    chat.wait_live()
    expect(_marked(chat).locator(".body")).to_have_text(f"{word} soup tonight")
    expect(_marked(chat)).to_be_focused()

    # "Only in <room>": the open room's matches alone.
    _search(chat, f"{word}*")
    expect(_results(chat)).to_have_count(2)
    chat.page.get_by_label(f"Only in {kitchen}").check()
    expect(chat.page.locator("#search-status")).to_have_text(f"1 match in {kitchen}.")
    expect(_results(chat).locator(".result-body")).to_have_text([f"{word} soup tonight"])

    # A message's files are named in its result.
    file = rest.call("POST", "/files", token, 201, files={"file": ("menu <b>.pdf", b"%PDF-1.4 menu")})
    rest.call("POST", f"/rooms/{kitchen_id}/messages", token, 201, json={"body": f"{word} menu", "files": [file["id"]]})
    _search(chat, f"{word} menu")
    expect(_results(chat).locator(".result-files")).to_have_text(["Files: menu <b>.pdf"])


def test_a_message_older_than_the_loaded_page_is_paged_in_around_it(
    short_replay: ServiceProcess, open_page: Callable[..., ChatPage]
) -> None:
    service = short_replay  # three messages on connect, and no rate limit on the socket
    # Words of this test's own: the server's public rooms are searched by the other tests too.
    tag = unique("w").split("_")[1]
    zebra, giraffe, filler = f"zebra{tag}", f"giraffe{tag}", f"filler{tag}"
    words = {3: f"ancient {zebra}", 120: f"middle {giraffe}"}
    rest = Rest(service.base)
    owner, room = unique("olive"), unique("archive")
    token = rest.user(owner)
    room_id = rest.call("POST", "/rooms", token, 201, json={"name": room})["id"]
    rest.close()
    bodies = [f"note {n} {words.get(n, filler)}" for n in range(1, 181)]
    send_over_websocket(service.base, token, room_id, bodies)

    chat = open_page(service.base)
    chat.log_in(owner)
    chat.room_button(room).click()
    chat.wait_live()
    expect(chat.messages).to_have_count(3)
    assert chat.seqs() == list(range(178, 181))

    # Far back: a window around it, apart from the newest, until the hole between is paged.
    _search(chat, zebra)
    _results(chat).first.get_by_role("button").click()
    expect(_marked(chat).locator(".body")).to_have_text(f"note 3 ancient {zebra}")
    expect(_marked(chat)).to_be_in_viewport()
    seqs = chat.seqs()
    assert seqs[:29] == list(range(1, 29)) + [178] and seqs[-3:] == list(range(178, 181))
    newer = chat.page.get_by_role("button", name="Show newer messages")
    expect(newer).to_be_visible()
    # The window's last message, then the hole, then the newest: in that order on the page.
    order = chat.page.locator("#messages > li:not(.day-separator)").evaluate_all(
        "items => items.map(i => i.dataset.seq ?? 'hole')"
    )
    assert order == [str(n) for n in range(1, 29)] + ["hole"] + [str(n) for n in range(178, 181)]
    newer.click()
    expect(chat.messages).to_have_count(131)
    expect(_marked(chat)).to_have_count(1)
    newer.click()
    expect(newer).to_have_count(0)
    assert chat.seqs() == list(range(1, 181))
    expect(chat.page.get_by_role("button", name="Load older messages")).to_be_hidden()

    # Not so far back: the history is paged down to it, without a hole.
    late = open_page(service.base)
    late.log_in(owner)
    _search(late, giraffe)
    _results(late).first.get_by_role("button").click()
    late.wait_live()
    expect(_marked(late).locator(".body")).to_have_text(f"note 120 middle {giraffe}")
    expect(_marked(late)).to_be_in_viewport()
    seqs = late.seqs()
    assert seqs == list(range(seqs[0], 181)) and seqs[0] <= 100
    expect(late.page.get_by_role("button", name="Show newer messages")).to_have_count(0)

    # Paged results: "More results" asks for those before the last one shown.
    _search(late, filler)
    expect(_results(late)).to_have_count(20)
    expect(late.page.locator("#search-status")).to_have_text("20 matches, more below.")
    with late.page.expect_request(re.compile(r"/api/v1/search\?.*before_id=")):
        late.page.get_by_role("button", name="More results").click()
    expect(_results(late)).to_have_count(40)
    expect(_results(late).nth(20).get_by_role("button")).to_be_focused()
    expect(_results(late).locator(".result-body").first).to_have_text(f"note 180 {filler}")
    expect(_results(late).locator(".result-body").nth(20)).to_have_text(f"note 160 {filler}")


HOSTILE = [
    '"',
    "*",
    "<script>",
    "<img src=x onerror=window.__xss=2>",
    "' OR 1=1 --",
    'a" OR "b',
    "NEAR(a b)",
    "body:x AND y",
    "x:* & !y | z",
    "\\",
    "%_%",
    ")))(((",
    '"unclosed phrase',
    "\u0000",
    "x" * 600,
]


def test_hostile_queries_show_results_or_no_results_and_nothing_runs(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    token = rest.user(unique("sam"))
    room_id = rest.call("POST", "/rooms", token, 201, json={"name": unique("odd")})["id"]
    tag = unique("marker").replace("_", "")
    markup = f"<script>window.__xss=1</script> {tag} <img src=x onerror=window.__xss=3>"
    send_over_websocket(service.base, token, room_id, [markup, f'"quoted" *star* {tag}'])
    # Only escaping is under test here: the CSP would block inline handlers on its own.
    chat = open_page(service.base, bypass_csp=True)
    chat.sign_up(unique("eve"))
    for query in HOSTILE:
        _search(chat, query)
        expect(chat.page.locator("#search-status")).to_have_text(ANSWERED)
    # A query the service refuses says why, in words.
    _search(chat, "x*")
    expect(chat.page.locator("#search-status")).to_have_text(
        "Cannot search for that: a prefix needs at least 2 characters"
    )
    _search(chat, f"<script> {tag}")
    expect(_results(chat).locator(".result-body")).to_have_text([markup])
    _search(chat, f'"quoted" {tag}*')
    expect(_results(chat).locator(".result-body")).to_have_text([f'"quoted" *star* {tag}'])
    assert chat.page.evaluate("window.__xss") is None
    assert chat.page.locator("#search-panel img, #search-panel script").count() == 0
    # The page still works.
    _results(chat).first.get_by_role("button").click()
    chat.wait_live()
    expect(_marked(chat).locator(".body")).to_have_text(f'"quoted" star {tag}')  # *star* is italic there
    expect(_marked(chat).locator(".body em")).to_have_text("star")
    assert chat.page.evaluate("window.__xss") is None


def test_results_never_show_messages_of_private_rooms_one_is_not_in(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    carol, dave, reader = unique("carol"), unique("dave"), unique("rae")
    carol_token = rest.user(carol)
    rest.user(dave)
    word = unique("confidential").replace("_", "")
    secret = rest.call("POST", "/rooms", carol_token, 201, json={"name": unique("vault"), "private": True})["id"]
    public = rest.call("POST", "/rooms", carol_token, 201, json={"name": unique("plaza")})["id"]
    direct = rest.call("POST", "/dms", carol_token, 201, json={"username": dave})["id"]
    send_over_websocket(service.base, carol_token, secret, [f"{word} vault plans"])
    send_over_websocket(service.base, carol_token, direct, [f"{word} between us"])
    send_over_websocket(service.base, carol_token, public, [f"{word} lunch at noon"])
    chat = open_page(service.base)
    chat.sign_up(reader)
    _search(chat, word)
    expect(_results(chat).locator(".result-body")).to_have_text([f"{word} lunch at noon"])
    _search(chat, f'{word} "vault plans"')
    expect(chat.page.locator("#search-status")).to_have_text(re.compile("^No messages match"))
    _search(chat, "between us")
    expect(_results(chat)).to_have_count(0)
    # The query is echoed in the status; the messages themselves never show.
    page_text = chat.page.locator("body").inner_text()
    assert f"{word} vault plans" not in page_text and f"{word} between us" not in page_text
