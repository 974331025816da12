"""Formatting: a safe Markdown subset built as DOM nodes (bold, italic, strike, code, code
blocks, quotes, lists, links; bare URLs linked), seen alike by both users, with mentions
still marked; markup, `javascript:` links and HTML in code stay inert text."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, TwoInARoom, unique

pytestmark = pytest.mark.slow


def test_markdown_is_shown_formatted_to_both_users_with_safe_links_and_mentions(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    expect(ann.page.locator("#members li")).to_have_count(2)
    body = "\n".join(
        [
            f"**bold** *italic* ~~gone~~ `a_b*c*` @{two.bob_name} see https://example.com/a_b.",
            "> quoted *words*",
            "- one",
            "- two",
            "",
            "3. third",
            "```",
            "let x = **1**;",
            "```",
            "[the docs](https://example.org/docs?a=1&b=2)",
        ]
    )
    ann.page.get_by_label("Message", exact=True).fill(body)
    ann.page.get_by_label("Message", exact=True).press("Enter")
    for chat in (ann, bob):
        message = chat.messages.last
        shown = message.locator(".body")
        expect(shown.locator("strong")).to_have_text(["bold"])
        expect(shown.locator("em")).to_have_text(["italic", "words"])
        expect(shown.locator("del")).to_have_text(["gone"])
        expect(shown.locator(":not(pre) > code")).to_have_text(["a_b*c*"])
        expect(shown.locator("blockquote")).to_have_text("quoted words")
        expect(shown.locator("ul > li")).to_have_text(["one", "two"])
        expect(shown.locator("ol")).to_have_attribute("start", "3")
        expect(shown.locator("ol > li")).to_have_text(["third"])
        expect(shown.locator("pre > code")).to_have_text("let x = **1**;")
        links = shown.locator("a")
        expect(links).to_have_text(["https://example.com/a_b", "the docs"])
        assert links.evaluate_all("as => as.map(a => a.getAttribute('href'))") == [
            "https://example.com/a_b",
            "https://example.org/docs?a=1&b=2",
        ]
        expect(links.nth(1)).to_have_attribute("title", "https://example.org/docs?a=1&b=2")
        for index in range(2):
            expect(links.nth(index)).to_have_attribute("target", "_blank")
            expect(links.nth(index)).to_have_attribute("rel", "noopener noreferrer")
    expect(bob.messages.last.locator(".mention-me")).to_have_text(f"@{two.bob_name}")
    expect(ann.messages.last.locator(".mention-other")).to_have_text(f"@{two.bob_name}")

    # Plain text reads as before: one line, no markup.
    bob.send("just words, 2 * 3 * 4 and snake_case_name")
    expect(ann.message("just words, 2 * 3 * 4 and snake_case_name").locator("strong, em")).to_have_count(0)


PAYLOADS = [
    "<img src=x onerror=window.__xss=1>",
    "[click me](javascript:window.__xss=2)",
    "[or me](JaVaScRiPt:window.__xss=3)",
    "```\n<img src=x onerror=window.__xss=4><script>window.__xss=5</script>\n```",
    "`<b onmouseover=window.__xss=6>hover</b>`",
    '**<svg onload=window.__xss=7>** <a href="javascript:window.__xss=8">a</a>',
    "> <iframe srcdoc='<script>parent.__xss=9</script>'></iframe>",
]


def test_markup_javascript_links_and_html_in_code_stay_inert(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    # Only the rendering is under test: Bob's page runs without the CSP that would block
    # inline handlers on its own.
    mallory, bob_name, room = unique("mallory"), unique("bob"), unique("inert")
    token = rest.user(mallory)
    room_id = rest.call("POST", "/rooms", token, 201, json={"name": room})["id"]
    rest.call("POST", f"/rooms/{room_id}/join", rest.user(bob_name), 204)
    for body in PAYLOADS:
        rest.call("POST", f"/rooms/{room_id}/messages", token, 201, json={"body": body})
    bob = open_page(service.base, bypass_csp=True)
    bob.log_in(bob_name)
    bob.open_room(room)
    expect(bob.messages).to_have_count(len(PAYLOADS))
    shown = bob.messages.locator(".body")
    expect(shown.nth(0)).to_have_text(PAYLOADS[0])
    expect(shown.nth(1)).to_have_text("[click me](javascript:window.__xss=2)")
    expect(shown.nth(3).locator("pre > code")).to_have_text(
        "<img src=x onerror=window.__xss=4><script>window.__xss=5</script>"
    )
    expect(shown.nth(4).locator("code")).to_have_text("<b onmouseover=window.__xss=6>hover</b>")
    expect(shown.nth(5).locator("strong")).to_have_text("<svg onload=window.__xss=7>")
    expect(shown.nth(6).locator("blockquote")).to_contain_text("<iframe srcdoc=")
    # No element from any of it, no link but to http(s), and nothing ran.
    assert bob.page.locator("main img, main script, main svg, main iframe, main b").count() == 0
    assert bob.page.locator("#messages a").count() == 0
    for index in range(len(PAYLOADS)):
        shown.nth(index).hover()
        shown.nth(index).click()
    assert bob.page.evaluate("window.__xss") is None
