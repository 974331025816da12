"""Threads: a message's replies in a pane beside the room, the root's reply count and
last reply time live for both users, the threads one follows listed with their unread
replies until read, and a reconnect that resumes them."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, TwoInARoom

pytestmark = pytest.mark.slow


def test_replies_in_a_thread_are_live_counted_on_the_root_listed_unread_and_resumed(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page, gated=True)
    ann, bob = two.ann, two.bob
    ann.send("shall we ship on friday?")
    expect(bob.messages).to_have_count(1)
    root = bob.message("shall we ship on friday?")

    # Bob replies in the message's thread: the pane opens beside the room.
    root.get_by_role("button", name="Reply").click()
    pane = bob.page.locator("#thread-pane")
    expect(pane).to_be_visible()
    expect(bob.page.locator("#thread-heading")).to_be_focused()
    expect(pane.locator("#thread-root .body")).to_have_text(["shall we ship on friday?"])
    reply = bob.page.get_by_label("Reply", exact=True)
    reply.fill("yes, after the review")
    reply.press("Enter")
    expect(pane.locator("#thread-replies li[data-seq] .body")).to_have_text(["yes, after the review"])
    expect(bob.page.locator("#thread-pending li")).to_have_count(0)

    # Both see the count and the time of the last reply on the root; the log holds no reply.
    for chat in (ann, bob):
        summary = chat.message("shall we ship on friday?").locator(".thread-summary")
        expect(summary).to_have_text(re.compile(r"^1 reply · last reply \d"))
        expect(chat.messages).to_have_count(1)
    # Ann wrote the root: she follows the thread, and it is unread for her.
    thread = ann.page.locator("#thread-list li")
    expect(thread).to_have_count(1)
    expect(thread.locator(".thread-excerpt")).to_have_text("shall we ship on friday?")
    expect(thread.locator(".unread")).to_have_text("1")
    # Replies never count as unread in the room.
    expect(bob.page.locator("#thread-list li")).to_have_count(1)  # he follows it now too, read
    expect(bob.page.locator("#thread-list .unread")).to_have_count(0)

    # Ann opens it from the sidebar: reading it clears the count (a read frame with thread).
    thread.get_by_role("button").click()
    expect(ann.page.locator("#thread-replies li[data-seq] .body")).to_have_text(["yes, after the review"])
    expect(thread.locator(".unread")).to_have_count(0)
    root_seq = int(ann.message("shall we ship on friday?").get_attribute("data-seq") or 0)
    reads = [f for frames in ann.sent for f in frames if f["type"] == "read" and f.get("thread") == root_seq]
    assert reads and reads[-1]["room"] == two.room_id, reads

    # While Bob is away, Ann replies twice and deletes one: he resumes with the right count.
    two.away()
    ann.page.get_by_label("Reply", exact=True).fill("great")
    ann.page.get_by_label("Reply", exact=True).press("Enter")
    ann.page.get_by_label("Reply", exact=True).fill("typo")
    ann.page.get_by_label("Reply", exact=True).press("Enter")
    replies = ann.page.locator("#thread-replies li[data-seq]")
    expect(replies).to_have_count(3)
    replies.last.get_by_role("button", name="Delete").click()
    ann.page.get_by_role("button", name="Yes, delete").click()
    expect(ann.message("shall we ship on friday?").locator(".thread-summary")).to_contain_text("2 replies")
    two.back()
    expect(bob.page.locator("#thread-replies li[data-seq] .body")).to_have_text(
        ["yes, after the review", "great", "message deleted"]
    )
    expect(bob.message("shall we ship on friday?").locator(".thread-summary")).to_contain_text("2 replies")
    expect(bob.page.locator("#thread-count")).to_have_text("2 replies")
    # The pane closes with Escape, back to the room's message field.
    bob.page.locator("#thread-heading").focus()
    bob.page.keyboard.press("Escape")
    expect(pane).to_be_hidden()
    expect(bob.page.get_by_label("Message", exact=True)).to_be_focused()
