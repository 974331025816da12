"""Unread as people expect: a room opens at a "new messages" line above the first message
the user had not read, not at the bottom; a control jumps back to it; the tab's title and
icon carry the unread count, which drops as the rooms are read."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ARTIFACTS, ChatPage, Rest, send_over_websocket, unique

pytestmark = pytest.mark.slow


def post(rest: Rest, tokens: list[str], room_id: int, bodies: list[str]) -> None:
    """Many messages at once, over REST, from several users in turn (each user's burst is 20)."""
    for index, body in enumerate(bodies):
        token = tokens[index * len(tokens) // len(bodies)]
        rest.call("POST", f"/rooms/{room_id}/messages", token, 201, json={"body": body})


def test_a_room_opens_at_the_new_messages_line_and_the_title_counts_what_is_unread(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ann, bob = unique("ann"), unique("bob")
    ann_token, bob_token = rest.user(ann), rest.user(bob)
    others = [rest.user(unique("cy")), rest.user(unique("dee"))]
    name, other = unique("busy"), unique("side")
    room = rest.call("POST", "/rooms", ann_token, 201, json={"name": name})["id"]
    side = rest.call("POST", "/rooms", ann_token, 201, json={"name": other})["id"]
    for room_id in (room, side):
        rest.call("POST", f"/rooms/{room_id}/join", bob_token, 204)
    for token in others:
        rest.call("POST", f"/rooms/{room}/join", token, 204)
    send_over_websocket(service.base, ann_token, room, [f"read {n}" for n in range(5)])
    send_over_websocket(service.base, bob_token, room, ["bob was here"])  # reads the room up to it
    post(rest, [ann_token, *others], room, [f"unread {n}" for n in range(30)])
    send_over_websocket(service.base, ann_token, side, ["elsewhere"])

    chat = open_page(service.base)
    chat.log_in(bob)
    page = chat.page
    expect(page).to_have_title("(31) Chat: rooms")
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", "favicon-unread.svg")

    chat.room_button(name).click()
    chat.wait_live()
    line = page.locator("#messages .unread-line")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("New messages")
    # Right above the first unread message, which is in view; the newest is not.
    expect(page.locator("#messages .unread-line + li[data-seq] .body")).to_have_text("unread 0")
    expect(chat.message("unread 0")).to_be_in_viewport()
    expect(chat.message("unread 29")).not_to_be_in_viewport()
    # Seen now: the title keeps only the other room's count.
    expect(page).to_have_title(f"(1) Chat: {name}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "unread-line.png")

    # Read on, down to the end: the line stays, and a control brings it back into view.
    jump = page.get_by_role("button", name="Jump to new messages")
    expect(jump).to_be_hidden()
    page.locator("#log-scroll").evaluate("scroll => { scroll.scrollTop = scroll.scrollHeight; }")
    expect(jump).to_be_visible()
    jump.click()
    expect(chat.message("unread 0")).to_be_in_viewport()
    expect(jump).to_be_hidden()

    # The other room read too: nothing unread, the plain title and icon.
    chat.room_button(other).click()
    expect(page).to_have_title(f"Chat: {other}")
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", "favicon.svg")

    # Ann writes while Bob is away from the room; back in it, the line is above her message only.
    send_over_websocket(service.base, ann_token, room, ["one more"])
    expect(page).to_have_title(re.compile(r"^\(1\) "))
    chat.room_button(name).click()
    expect(line).to_have_count(1)
    expect(page.locator("#messages .unread-line + li[data-seq] .body")).to_have_text("one more")
    expect(page).to_have_title(f"Chat: {name}")


def test_a_room_with_nothing_unread_opens_at_the_bottom_without_a_line(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ann, bob = unique("ann"), unique("bob")
    ann_token, bob_token = rest.user(ann), rest.user(bob)
    name = unique("calm")
    cy_token = rest.user(unique("cy"))
    room = rest.call("POST", "/rooms", ann_token, 201, json={"name": name})["id"]
    for token in (bob_token, cy_token):
        rest.call("POST", f"/rooms/{room}/join", token, 204)
    post(rest, [ann_token, cy_token], room, [f"old {n}" for n in range(30)])
    send_over_websocket(service.base, bob_token, room, ["caught up"])

    chat = open_page(service.base)
    chat.log_in(bob)
    expect(chat.page).to_have_title("Chat: rooms")
    chat.room_button(name).click()
    chat.wait_live()
    expect(chat.message("caught up")).to_be_in_viewport()
    # A message that comes while the room is open is seen as it comes: no line for it.
    send_over_websocket(service.base, ann_token, room, ["just now"])
    expect(chat.message("just now")).to_be_in_viewport()
    expect(chat.page.locator("#messages .unread-line")).to_have_count(0)
    expect(chat.page.get_by_role("button", name="Jump to new messages")).to_be_hidden()
