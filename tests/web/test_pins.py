"""Pins: members pin and unpin messages, marked in the log and listed in the room's
pinned pane (most recently pinned first), live for both users and after a reconnect."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, TwoInARoom

pytestmark = pytest.mark.slow


def test_pins_are_marked_listed_most_recent_first_and_kept_live_and_after_a_reconnect(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page, gated=True)
    ann, bob = two.ann, two.bob
    for body in ("the wifi password is in the drawer", "standup moved to 10", "ok"):
        ann.send(body)
    expect(bob.messages).to_have_count(3)

    # Bob pins the first: both see it marked.
    bob.message("the wifi password is in the drawer").get_by_role("button", name="Pin").click()
    for chat in (ann, bob):
        expect(chat.page.locator("#messages .pin-mark")).to_have_count(1)
        expect(chat.message("the wifi password is in the drawer").locator(".pin-mark")).to_have_text("Pinned")
    expect(bob.message("the wifi password is in the drawer").get_by_role("button", name="Unpin")).to_have_count(1)

    # Bob's pinned pane lists it; Ann pins another, which comes first, live.
    bob.page.get_by_role("button", name="Pinned", exact=True).click()
    pinned = bob.page.locator("#pins-list li[data-seq] .body")
    expect(pinned).to_have_text(["the wifi password is in the drawer"])
    ann.message("standup moved to 10").get_by_role("button", name="Pin").click()
    expect(pinned).to_have_text(["standup moved to 10", "the wifi password is in the drawer"])

    # Unpinned from the pane: gone from the list and the mark from both logs.
    bob.page.locator("#pins-list li").first.get_by_role("button", name="Unpin").click()
    expect(pinned).to_have_text(["the wifi password is in the drawer"])
    for chat in (ann, bob):
        expect(chat.message("standup moved to 10").locator(".pin-mark")).to_have_count(0)

    # While Bob is away, the pinned message is deleted (which unpins it) and another pinned.
    two.away()
    wifi = int(ann.message("the wifi password is in the drawer").get_attribute("data-seq") or 0)
    ok = int(ann.message("ok").get_attribute("data-seq") or 0)
    rest.call("DELETE", f"/rooms/{two.room_id}/messages/{wifi}", two.ann_token, 204)
    rest.call("PUT", f"/rooms/{two.room_id}/pins/{ok}", two.ann_token, 204)
    two.back()
    expect(pinned).to_have_text(["ok"])
    expect(bob.page.locator("#messages .pin-mark")).to_have_count(1)
    expect(bob.page.locator("#log")).not_to_contain_text("wifi")

    # "Show in the room" takes him to it.
    bob.page.locator("#pins-list li").first.get_by_role("button", name="Show in the room").click()
    expect(bob.page.locator("#pins-pane")).to_be_hidden()
    expect(bob.message("ok")).to_be_focused()
