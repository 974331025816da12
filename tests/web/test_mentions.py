"""Mentions: @ completes a member's name while composing, a mention of the user is marked
in the message (as text, never markup), and a room with unread mentions shows how many
apart from its unread count, live and from the server's count."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, TwoInARoom, unique

pytestmark = pytest.mark.slow


def test_at_completes_a_name_mentions_are_marked_and_counted_apart_from_unread(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    quiet = unique("quiet")
    rest.call("POST", "/rooms", two.ann_token, 201, json={"name": quiet})
    expect(bob.page.locator("#members li")).to_have_count(2)

    # Bob types "@" and the start of Ann's name: the field offers her (and @room), never him.
    field = bob.page.get_by_label("Message", exact=True)
    field.press_sequentially(f"see this @{two.ann_name[:5]}")
    options = bob.page.get_by_role("listbox", name="People to mention").get_by_role("option")
    expect(options).to_have_text([f"@{two.ann_name}"])
    expect(field).to_have_attribute("aria-expanded", "true")
    field.press("Enter")  # completes the name; the message is not sent yet
    expect(field).to_have_value(f"see this @{two.ann_name} ")
    expect(options).to_have_count(0)
    field.press_sequentially("<b>now</b>")
    field.press("Enter")
    body = f"see this @{two.ann_name} <b>now</b>"
    for chat in (ann, bob):
        expect(chat.message(body)).to_have_count(1)
        assert chat.page.locator("#messages b").count() == 0
    # Ann sees her name marked, and the message marked as one that mentions her.
    expect(ann.message(body).locator(".mention-me")).to_have_text(f"@{two.ann_name}")
    expect(ann.message(body)).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(bob.message(body).locator(".mention")).to_have_text(f"@{two.ann_name}")

    # Ann reads it (her tab in front), then, away from the room, gets two messages, one of
    # them for everyone: 2 unread, 1 mention.
    ann.page.bring_to_front()
    ann.wait_for_read(two.room_id, int(ann.message(body).get_attribute("data-seq") or 0))
    ann.open_room(quiet)
    bob.send("@room the demo moved to 3pm")
    bob.send("plain news")
    expect(ann.badge(two.name)).to_have_text("2")
    mentions = ann.room_button(two.name).locator(".mention-count")
    expect(mentions).to_have_text("@1")
    # The server counts the same.
    ann.page.reload()
    expect(ann.badge(two.name)).to_have_text("2")
    expect(mentions).to_have_text("@1")
    # Reading the room clears both.
    ann.room_button(two.name).click()
    expect(ann.message("@room the demo moved to 3pm").locator(".mention-room")).to_have_text("@room")
    expect(ann.badge(two.name)).to_have_count(0)
    expect(mentions).to_have_count(0)
