"""Direct conversations: started from a user's name, seen live by both, named after the other."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, send_over_websocket, unique

pytestmark = pytest.mark.slow


def _conversation(chat: ChatPage, name: str) -> object:
    """The conversation's entry in the sidebar's "Direct messages"."""
    return chat.page.locator("#dm-list button.room-open").filter(
        has=chat.page.locator(".room-name").get_by_text(name, exact=True)
    )


def test_a_name_starts_a_conversation_both_see_live_and_write_in(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    alice_name, bob_name, room = unique("alice"), unique("bob"), unique("meet")
    alice_token, bob_token = rest.user(alice_name), rest.user(bob_name)
    room_id = rest.call("POST", "/rooms", alice_token, 201, json={"name": room})["id"]
    rest.call("POST", f"/rooms/{room_id}/join", bob_token, 204)
    send_over_websocket(service.base, bob_token, room_id, ["hello from bob"])
    alice, bob = open_page(service.base), open_page(service.base)
    alice.log_in(alice_name)
    bob.log_in(bob_name)
    alice.open_room(room)
    bob.open_room(room)
    expect(alice.page.locator("#dm-list li")).to_have_count(0)
    expect(alice.page.locator("#dms-empty")).to_be_visible()

    # One's own name is just text; another's opens "Message <name>".
    alice.send("hi all")
    expect(alice.message("hi all").locator(".author")).to_have_text(alice_name)
    expect(alice.message("hi all").locator("button.user-link")).to_have_count(0)
    author = alice.message("hello from bob").get_by_role("button", name=bob_name, exact=True)
    author.click()
    expect(author).to_have_attribute("aria-expanded", "true")
    offer = alice.page.get_by_role("button", name=f"Message {bob_name}", exact=True)
    expect(offer).to_be_focused()
    with alice.page.expect_response("**/api/v1/dms") as made:
        offer.click()
    assert made.value.status == 201
    conversation = made.value.json()
    assert conversation["kind"] == "direct"

    # Alice is in the conversation at once, named after Bob.
    expect(alice.page.locator("#user-menu")).to_be_hidden()
    alice.wait_live()
    expect(alice.page.locator("#room-title")).to_have_text(bob_name)
    expect(alice.page.locator("#room-info")).to_contain_text("direct conversation")
    expect(_conversation(alice, bob_name)).to_have_attribute("aria-current", "page")
    expect(alice.page.locator("#dms-empty")).to_be_hidden()
    assert alice.page.title() == f"Chat: {bob_name}"
    # Its two members are fixed: nobody is added, removed, or leaves.
    expect(alice.page.locator("#members li .member-name")).to_have_text(sorted([alice_name, bob_name]))
    expect(alice.page.locator("#add-member")).to_be_hidden()
    expect(alice.page.locator("#leave")).to_be_hidden()
    expect(alice.page.get_by_role("button", name=re.compile("^Remove "))).to_have_count(0)

    # Bob's sidebar gets it live (room_added), named after Alice, with its unread count.
    expect(_conversation(bob, alice_name)).to_have_count(1)
    expect(bob.my_room_button(room)).to_have_attribute("aria-current", "page")
    alice.send("psst, bob")
    expect(_conversation(bob, alice_name).locator(".unread")).to_have_text("1")
    _conversation(bob, alice_name).click()
    bob.wait_live()
    expect(bob.page.locator("#room-title")).to_have_text(alice_name)
    expect(bob.messages.locator(".body")).to_have_text(["psst, bob"])
    expect(_conversation(bob, alice_name).locator(".unread")).to_have_count(0)
    bob.send("hi alice")
    expect(alice.messages.locator(".body")).to_have_text(["psst, bob", "hi alice"])

    # From the keyboard, from the People panel of the room: the same conversation again (200).
    bob.my_room_button(room).click()
    bob.wait_live()
    name = bob.page.locator("#online").get_by_role("button", name=alice_name, exact=True)
    expect(name).to_be_visible()
    name.focus()
    bob.page.keyboard.press("Enter")
    offer = bob.page.get_by_role("button", name=f"Message {alice_name}", exact=True)
    expect(offer).to_be_focused()
    bob.page.keyboard.press("Escape")
    expect(bob.page.locator("#user-menu")).to_be_hidden()
    expect(name).to_be_focused()
    bob.page.keyboard.press("Enter")
    expect(offer).to_be_focused()
    with bob.page.expect_response("**/api/v1/dms") as again:
        bob.page.keyboard.press("Enter")
    assert again.value.status == 200 and again.value.json()["id"] == conversation["id"]
    expect(bob.page.locator("#room-title")).to_have_text(alice_name)
    expect(bob.page.locator("#room-title")).to_be_focused()
    expect(bob.messages.locator(".body")).to_have_text(["psst, bob", "hi alice"])
    expect(bob.page.locator("#dm-list li")).to_have_count(1)

    # All of it on each page's one socket; the server holds one conversation of the two.
    assert len(alice.socket_urls) == 1 and len(bob.socket_urls) == 1
    mine = rest.call("GET", "/users/me/rooms", alice_token, 200)["items"]
    assert [r["room"]["id"] for r in mine if r["room"]["kind"] == "direct"] == [conversation["id"]]


def test_a_conversation_after_a_reload_and_the_menu_closes_by_click_or_tab(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ann_name, ben_name, room = unique("ann"), unique("ben"), unique("hall")
    ann_token, ben_token = rest.user(ann_name), rest.user(ben_name)
    room_id = rest.call("POST", "/rooms", ann_token, 201, json={"name": room})["id"]
    rest.call("POST", f"/rooms/{room_id}/join", ben_token, 204)
    rest.call("POST", "/dms", ben_token, 201, json={"username": ann_name})
    ann = open_page(service.base)
    ann.log_in(ann_name)
    # Listed from GET /users/me/rooms, named after the other one, not as a room to join.
    expect(_conversation(ann, ben_name)).to_have_count(1)
    expect(ann.page.locator("#public-list .room-name").get_by_text(re.compile(ben_name))).to_have_count(0)
    ann.open_room(room)
    member = ann.page.locator("#members").get_by_role("button", name=ben_name, exact=True)
    member.click()
    expect(ann.page.locator("#user-menu")).to_be_visible()
    ann.page.locator("#room-title").click()  # a click elsewhere closes it
    expect(ann.page.locator("#user-menu")).to_be_hidden()
    member.click()
    ann.page.keyboard.press("Tab")  # and so does tabbing away
    expect(ann.page.locator("#user-menu")).to_be_hidden()
    ann.page.reload()
    expect(_conversation(ann, ben_name)).to_have_count(1)
    _conversation(ann, ben_name).click()
    ann.wait_live()
    expect(ann.page.locator("#room-title")).to_have_text(ben_name)
    ann.send("found it")
    expect(ann.messages.locator(".body")).to_have_text(["found it"])
