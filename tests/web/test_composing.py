"""Composing: Enter sends and Shift+Enter starts a new line, the box grows with its text up to
a limit, a draft is kept per room (across switching rooms and a reload), and Up in an
empty box edits the user's last message in place."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, TwoInARoom, unique

pytestmark = pytest.mark.slow


def _height(field: object) -> float:
    return float(field.evaluate("el => el.getBoundingClientRect().height"))  # type: ignore[attr-defined]


def test_enter_sends_shift_enter_breaks_the_box_grows_and_drafts_stay_per_room(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    other = unique("other")
    rest.call("POST", "/rooms", two.ann_token, 201, json={"name": other})
    field = ann.page.get_by_label("Message", exact=True)
    one_line = _height(field)

    # Shift+Enter starts a new line and the box grows; Enter sends both lines.
    field.press_sequentially("first line")
    field.press("Shift+Enter")
    field.press_sequentially("second line")
    expect(field).to_have_value("first line\nsecond line")
    assert _height(field) > one_line
    field.press("Enter")
    for chat in (ann, bob):
        expect(chat.messages.locator(".body")).to_have_text(["first line\nsecond line"])
    expect(field).to_have_value("")
    assert _height(field) == one_line

    # Up to a limit: then the box scrolls.
    field.fill("\n".join(f"line {n}" for n in range(30)))
    tall = _height(field)
    assert one_line < tall < 30 * one_line / 2
    assert field.evaluate("el => el.scrollHeight > el.clientHeight")

    # A draft per room, kept while switching rooms and across a reload; sending clears it.
    # (A name the @ list completes is part of it.)
    field.fill("")
    expect(ann.page.locator("#members li")).to_have_count(2)
    field.press_sequentially(f"half a thought for @{two.bob_name[:5]}")
    field.press("Enter")
    draft = f"half a thought for @{two.bob_name} "
    expect(field).to_have_value(draft)
    ann.open_room(other)
    expect(field).to_have_value("")
    field.press_sequentially("another")
    field.press("Shift+Enter")
    field.press_sequentially("draft")
    ann.open_room(two.name)
    expect(field).to_have_value(draft)
    ann.page.reload()
    ann.open_room(two.name)
    expect(field).to_have_value(draft)
    ann.open_room(other)
    expect(field).to_have_value("another\ndraft")
    field.press("Enter")
    expect(ann.messages.locator(".body")).to_have_text(["another\ndraft"])
    ann.open_room(two.name)
    ann.open_room(other)
    expect(field).to_have_value("")


def test_up_in_an_empty_box_edits_the_last_message_in_place(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    ann.send("my first")
    ann.send("my second")
    bob.send("from bob")
    for chat in (ann, bob):
        expect(chat.messages).to_have_count(3)
    field = ann.page.get_by_label("Message", exact=True)

    # Up with text in the box moves the caret, nothing more.
    field.fill("typing")
    field.press("ArrowUp")
    expect(ann.page.get_by_label("Edit message")).to_have_count(0)

    # In an empty box it edits her last message (not Bob's, after it); Escape cancels.
    field.fill("")
    field.press("ArrowUp")
    editor = ann.messages.nth(1).get_by_label("Edit message")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("my second")
    editor.press("Escape")
    expect(ann.page.get_by_label("Edit message")).to_have_count(0)
    expect(ann.messages.locator(".body")).to_have_text(["my first", "my second", "from bob"])

    # Again: Shift+Enter is a new line in the edit, Enter saves; Bob sees it, edited.
    field.focus()
    field.press("ArrowUp")
    editor = ann.page.get_by_label("Edit message")
    expect(editor).to_be_focused()
    editor.press("End")
    editor.press_sequentially(", edited")
    editor.press("Shift+Enter")
    editor.press_sequentially("and longer")
    editor.press("Enter")
    expect(ann.page.get_by_label("Edit message")).to_have_count(0)
    for chat in (ann, bob):
        edited = chat.messages.nth(1)
        expect(edited.locator(".body")).to_have_text("my second, edited\nand longer")
        expect(edited.locator(".edited")).to_have_text(re.compile("edited"))
