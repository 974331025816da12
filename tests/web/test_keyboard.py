"""The client works from the keyboard alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, unique

pytestmark = pytest.mark.slow


def _tab_to(page: Page, matches: str, limit: int = 20) -> None:
    """Press Tab until the focused element satisfies the JS predicate `matches`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {matches})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached an element where {matches}")


def test_keyboard_only_sign_in_open_room_and_send(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    username, room = unique("kim"), unique("keys")
    rest.call("POST", "/rooms", rest.user(username), 201, json={"name": room})
    chat = open_page(service.base)
    page = chat.page
    chat.goto()

    # The sign-in view starts in the username box; Enter submits.
    expect(page.get_by_label("Username", exact=True)).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    expect(page.locator("#view-rooms")).to_be_visible()
    # The list arrives after the view: Tab through it only once it is there.
    expect(page.locator("#room-list button", has_text=room)).to_be_visible()

    _tab_to(page, f"el.tagName === 'BUTTON' && el.textContent === {room!r}")
    page.keyboard.press("Enter")
    chat.wait_live()

    _tab_to(page, "el.id === 'message-input'")
    # Focus is visible on what the keyboard reached.
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.type("typed without a mouse")
    page.keyboard.press("Enter")
    expect(chat.messages.locator(".body")).to_have_text(["typed without a mouse"])
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    expect(page.get_by_label("Message", exact=True)).to_have_value("")
