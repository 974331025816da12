"""Details of the log: message controls that show where the pointer or the keyboard is,
full dates and dated day separators, avatars coloured by user, a compact mode kept across
reloads, and a request that is seen busy and then fails with its reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Route, expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, TwoInARoom

pytestmark = pytest.mark.slow

OPACITY = "node => getComputedStyle(node).opacity"


def initials(name: str) -> str:
    """As avatar.js: "ann_1f2e" is "A1" (the first letters of its words)."""
    first, rest = name.split("_", 1)
    return (first[0] + rest[0]).upper()


def test_message_controls_show_on_hover_or_focus_and_are_reached_by_keyboard(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    ann.send("first")
    ann.send("second")
    expect(bob.messages).to_have_count(2)
    ann.page.mouse.move(0, 0)
    mine = ann.message("second")
    edit = mine.get_by_role("button", name="Edit")
    delete = mine.get_by_role("button", name="Delete")
    for control in (edit, delete, mine.get_by_role("button", name="Reply")):
        expect(control).to_have_count(1)
        assert control.evaluate(OPACITY) == "0"
    mine.hover()
    for control in (edit, delete, mine.get_by_role("button", name="React")):
        expect(control).to_have_css("opacity", "1")
    ann.page.mouse.move(0, 0)
    expect(edit).to_have_css("opacity", "0")

    # From the composer, Shift+Tab reaches the Edit of the last message, shown while it has the focus.
    ann.page.get_by_label("Message", exact=True).focus()
    reached = False
    for _ in range(30):
        ann.page.keyboard.press("Shift+Tab")
        if edit.evaluate("node => node === document.activeElement"):
            reached = True
            break
    assert reached
    expect(edit).to_have_css("opacity", "1")
    ann.page.keyboard.press("Enter")
    expect(ann.page.locator(".edit-input")).to_be_focused()
    ann.page.keyboard.press("Escape")
    expect(edit).to_be_focused()

    # Bob sees the tools he may use on Ann's message, hidden until he points at it; no Edit.
    theirs = bob.message("second")
    expect(theirs.get_by_role("button", name="Edit")).to_have_count(0)
    bob.page.mouse.move(0, 0)
    assert theirs.get_by_role("button", name="React").evaluate(OPACITY) == "0"
    theirs.hover()
    expect(theirs.get_by_role("button", name="React")).to_have_css("opacity", "1")


def test_avatars_full_dates_day_separators_and_compact_mode(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    ann.send("hello")
    bob.send("hi ann")
    for chat in (ann, bob):
        expect(chat.messages).to_have_count(2)

    # Initials on a colour of the user's own, the same on every screen.
    colours: dict[str, list[Any]] = {}
    for chat in (ann, bob):
        avatar = chat.message("hello").locator(".avatar")
        expect(avatar).to_have_text(initials(two.ann_name))
        expect(avatar).to_have_attribute("aria-hidden", "true")
        expect(chat.message("hi ann").locator(".avatar")).to_have_text(initials(two.bob_name))
        colours.setdefault("ann", []).append(avatar.evaluate("node => getComputedStyle(node).backgroundColor"))
    assert colours["ann"][0] == colours["ann"][1]

    # The time shows hours and minutes; its title the full date, with the year.
    time = ann.message("hello").locator("time").first
    year = ann.page.evaluate("new Date().getFullYear()")
    title = time.get_attribute("title") or ""
    assert str(year) in title
    assert title != time.inner_text()
    # The day's separator says Today and the date.
    separator = ann.page.locator("#messages .day-separator")
    expect(separator).to_have_count(1)
    expect(separator).to_contain_text("Today")
    today = ann.page.evaluate(
        "(() => { const d = new Date(); return [d.getFullYear(), d.getMonth() + 1, d.getDate()]"
        ".map(n => String(n).padStart(2, '0')).join('-'); })()"
    )
    expect(separator.locator("time")).to_have_attribute("datetime", today)
    day = str(int(today.split("-")[2]))
    expect(separator).to_contain_text(day)

    # Compact mode: a toggle, kept across a reload, and off again.
    toggle = ann.page.get_by_role("button", name="Compact layout")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    before = ann.message("hello").bounding_box()
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(ann.page.locator("html")).to_have_class("compact")
    after = ann.message("hello").bounding_box()
    assert before is not None and after is not None and after["height"] < before["height"]
    ann.page.reload()
    ann.wait_live()
    expect(ann.page.locator("html")).to_have_class("compact")
    expect(ann.page.get_by_role("button", name="Compact layout")).to_have_attribute("aria-pressed", "true")
    ann.page.get_by_role("button", name="Compact layout").click()
    expect(ann.page.locator("html")).not_to_have_class("compact")
    expect(bob.page.locator("html")).not_to_have_class("compact")  # a choice of this browser only


def test_a_request_is_shown_busy_then_its_error(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann = two.ann
    ann.send("keep me")
    expect(ann.messages).to_have_count(1)
    held: list[Route] = []
    ann.page.route("**/api/v1/rooms/*/messages/*", lambda route: held.append(route))
    mine = ann.message("keep me")
    mine.hover()
    mine.get_by_role("button", name="Delete").click()
    mine.get_by_role("button", name="Yes, delete").click()
    busy = mine.get_by_role("button", name="Deleting…")
    expect(busy).to_be_disabled()
    expect(busy).to_have_attribute("aria-busy", "true")
    assert len(held) == 1 and held[0].request.method == "DELETE"
    held[0].fulfill(status=500, content_type="application/json", body=json.dumps({"detail": "storage is down"}))
    expect(mine.locator(".error")).to_have_text("storage is down")
    expect(mine.get_by_role("button", name="Yes, delete")).to_be_enabled()
    ann.page.unroute("**/api/v1/rooms/*/messages/*")
    mine.get_by_role("button", name="Yes, delete").click()
    expect(ann.messages.locator(".tombstone")).to_have_count(1)
