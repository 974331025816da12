"""At 390 px (a phone) the conversation gets the screen, and the rooms are one tap away."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, send_over_websocket, unique

pytestmark = pytest.mark.slow

PHONE: ViewportSize = {"width": 390, "height": 844}


def _fits(page: Page) -> None:
    """Nothing wider than the screen: no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_narrow_screen_shows_the_conversation_and_a_way_back_to_the_rooms(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    other, here = unique("pat"), unique("lee")
    token = rest.user(other)
    busy = rest.call("POST", "/rooms", token, 201, json={"name": unique("busy")})
    phone = open_page(service.base, viewport=PHONE, is_mobile=True, has_touch=True)
    phone.sign_up(here)
    page = phone.page
    expect(page.locator("#view-rooms")).to_be_visible()
    phone.refresh_rooms()
    expect(phone.public_room_button(busy["name"])).to_be_visible()
    _fits(page)

    room = unique("pocket")
    phone.create_room(room, "a room with a long description that has to wrap on a narrow screen")
    # The room has the screen: the sidebar steps aside, the log and the composer are in view.
    expect(page.locator("#view-rooms")).to_be_hidden()
    for part in ("#log-scroll", "#message-input", "#send", "#room-title"):
        expect(page.locator(part)).to_be_in_viewport()
    phone.send("hello from a phone " + "and a long line that wraps " * 4)
    expect(phone.messages).to_have_count(1)
    expect(page.locator("#send")).to_be_in_viewport()
    _fits(page)

    # News elsewhere shows on the way back; the way back is the "← Rooms" button.
    back = page.get_by_role("button", name="← Rooms")
    expect(back).to_be_in_viewport()
    back.click()
    expect(page.locator("#view-rooms")).to_be_visible()
    expect(page.locator("#view-room")).to_be_hidden()
    # A public room of someone else: read first, "Join room" in view, then the composer.
    phone.room_button(busy["name"]).click()
    phone.wait_live()
    expect(page.get_by_role("button", name="Join room")).to_be_in_viewport()
    _fits(page)
    page.get_by_role("button", name="Join room").click()
    expect(page.locator("#message-input")).to_be_in_viewport()
    _fits(page)


def test_narrow_screen_searches_opens_a_result_and_starts_a_conversation(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    other, here = unique("pia"), unique("leo")
    word = unique("pocketword").replace("_", "")
    token = rest.user(other)
    room = rest.call("POST", "/rooms", token, 201, json={"name": unique("street")})
    send_over_websocket(service.base, token, room["id"], [f"a {word} " + "that wraps on a phone " * 6, "later"])
    phone = open_page(service.base, viewport=PHONE, is_mobile=True, has_touch=True)
    phone.sign_up(here)
    page = phone.page
    box = page.get_by_role("searchbox", name="Search messages")
    expect(box).to_be_in_viewport()
    _fits(page)

    box.fill(word)
    box.press("Enter")
    result = page.locator("#search-results li button")
    expect(result).to_have_count(1)
    expect(result).to_be_in_viewport()
    _fits(page)
    result.click()
    phone.wait_live()
    expect(page.locator("#view-rooms")).to_be_hidden()
    marked = page.locator("#messages li.marked")
    expect(marked.locator(".body")).to_contain_text(word)
    expect(marked).to_be_in_viewport()
    _fits(page)

    # The author's name: "Message <name>" in view, then the conversation has the screen.
    marked.get_by_role("button", name=other, exact=True).click()
    offer = page.get_by_role("button", name=f"Message {other}", exact=True)
    expect(offer).to_be_in_viewport()
    _fits(page)
    offer.click()
    phone.wait_live()
    expect(page.locator("#room-title")).to_have_text(other)
    for part in ("#log-scroll", "#message-input", "#send"):
        expect(page.locator(part)).to_be_in_viewport()
    page.get_by_role("button", name="← Rooms").click()
    expect(page.locator("#dm-list .room-name")).to_have_text([other])
    _fits(page)
