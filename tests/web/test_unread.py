"""Unread badges from the server's read markers: raised by others' messages, cleared as
the user reads, the same on every device of one user."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, send_over_websocket, unique

pytestmark = pytest.mark.slow


def test_a_message_from_another_user_raises_the_badge_and_reading_the_room_clears_it(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ada, ben = unique("ada"), unique("ben")
    ada_token, ben_token = rest.user(ada), rest.user(ben)
    news, quiet = unique("news"), unique("quiet")
    room = rest.call("POST", "/rooms", ada_token, 201, json={"name": news})
    rest.call("POST", f"/rooms/{room['id']}/join", ben_token, 204)
    rest.call("POST", "/rooms", ben_token, 201, json={"name": quiet})
    send_over_websocket(service.base, ada_token, room["id"], ["before you came"])

    chat = open_page(service.base)
    chat.log_in(ben)
    # The count the server keeps; nothing in a room of one's own.
    expect(chat.badge(news)).to_have_text("1")
    expect(chat.badge(quiet)).to_have_count(0)
    # The most recently active room first.
    expect(chat.page.locator("#room-list .room-name")).to_have_text([news, quiet])

    # Live: messages of someone else raise it while the room is not open, and bring the
    # room to the top; one's own messages count for nothing.
    chat.open_room(quiet)
    chat.send("talking to myself")
    expect(chat.page.locator("#room-list .room-name")).to_have_text([quiet, news])
    expect(chat.badge(quiet)).to_have_count(0)
    send_over_websocket(service.base, ada_token, room["id"], ["one", "two"])
    expect(chat.badge(news)).to_have_text("3")
    expect(chat.page.locator("#room-list .room-name")).to_have_text([news, quiet])
    expect(chat.page.locator("#back-unread")).to_have_text("3")

    # Opening the room reads it: the badge goes, and the server is told once (stream seq 3).
    chat.room_button(news).click()
    expect(chat.messages.locator(".body")).to_have_text(["before you came", "one", "two"])
    expect(chat.badge(news)).to_have_count(0)
    chat.wait_for_read(room["id"], 3)

    # While it is open, messages are seen as they come; reads are sent after a pause,
    # not one per message.
    burst = [f"burst {n}" for n in range(10)]
    send_over_websocket(service.base, ada_token, room["id"], burst)
    expect(chat.messages).to_have_count(13)
    expect(chat.badge(news)).to_have_count(0)
    chat.wait_for_read(room["id"], 13)
    after_open = [seq for seq in chat.reads(room["id"]) if seq > 3]
    assert len(after_open) < len(burst), after_open

    # The server holds the marker: another device of the same user shows nothing unread.
    other = open_page(service.base)
    other.log_in(ben)
    expect(other.room_button(news)).to_have_count(1)
    expect(other.badge(news)).to_have_count(0)


def test_one_user_on_two_devices_sees_the_same_unread_state(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ada, ben = unique("ada"), unique("ben")
    ada_token, ben_token = rest.user(ada), rest.user(ben)
    name = unique("shared")
    room = rest.call("POST", "/rooms", ada_token, 201, json={"name": name})
    rest.call("POST", f"/rooms/{room['id']}/join", ben_token, 204)
    phone, laptop = open_page(service.base), open_page(service.base)  # two browser contexts, one user
    phone.log_in(ben)
    laptop.log_in(ben)

    send_over_websocket(service.base, ada_token, room["id"], ["are you there?", "hello?"])
    for device in (phone, laptop):
        expect(device.badge(name)).to_have_text("2")

    # Read on the laptop: the phone's badge clears too (a read frame from the server).
    laptop.room_button(name).click()
    expect(laptop.messages).to_have_count(2)
    expect(laptop.badge(name)).to_have_count(0)
    expect(phone.badge(name)).to_have_count(0)

    # The laptop goes back to the room list; a new message is unread on both.
    laptop.page.get_by_role("button", name="+ New room").click()
    expect(laptop.page.locator("#view-room")).to_be_hidden()
    send_over_websocket(service.base, ada_token, room["id"], ["still there?"])
    for device in (phone, laptop):
        expect(device.badge(name)).to_have_text("1")

    # Answering from a third client moves the marker to that message: both clear.
    send_over_websocket(service.base, ben_token, room["id"], ["yes, sorry"])
    for device in (phone, laptop):
        expect(device.badge(name)).to_have_count(0)

    # After a reload the phone starts from the server's marker: nothing unread.
    phone.page.reload()
    expect(phone.room_button(name)).to_have_count(1)
    expect(phone.badge(name)).to_have_count(0)


def test_deleted_messages_stop_counting_and_edits_never_count(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ada, ben = unique("ada"), unique("ben")
    ada_token, ben_token = rest.user(ada), rest.user(ben)
    name = unique("tidy")
    room = rest.call("POST", "/rooms", ada_token, 201, json={"name": name})
    messages = f"/rooms/{room['id']}/messages"
    rest.call("POST", f"/rooms/{room['id']}/join", ben_token, 204)
    send_over_websocket(service.base, ada_token, room["id"], ["first", "second"])  # seqs 1, 2

    chat = open_page(service.base)
    chat.log_in(ben)
    expect(chat.badge(name)).to_have_text("2")  # counted by the server
    send_over_websocket(service.base, ada_token, room["id"], ["third"])  # seq 3, counted here
    expect(chat.badge(name)).to_have_text("3")

    rest.call("PATCH", f"{messages}/2", ada_token, 200, json={"body": "second, edited"})  # seq 4
    rest.call("DELETE", f"{messages}/1", ada_token, 204)  # seq 5
    expect(chat.badge(name)).to_have_text("2")
    rest.call("DELETE", f"{messages}/3", ada_token, 204)  # seq 6
    expect(chat.badge(name)).to_have_text("1")

    chat.page.reload()
    expect(chat.badge(name)).to_have_text("1")
    chat.room_button(name).click()
    expect(chat.messages.locator(".body")).to_have_text(["message deleted", "second, edited", "message deleted"])
    expect(chat.badge(name)).to_have_count(0)
    chat.wait_for_read(room["id"], 6)


def test_a_public_room_is_read_before_joining_then_joined_and_left(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ada, cat = unique("ada"), unique("cat")
    ada_token = rest.user(ada)
    rest.user(cat)
    name = unique("open")
    room = rest.call("POST", "/rooms", ada_token, 201, json={"name": name})
    send_over_websocket(service.base, ada_token, room["id"], ["welcome, passers-by"])
    chat = open_page(service.base)
    chat.log_in(cat)
    page = chat.page

    # Listed among the public rooms to join, not among the user's own.
    expect(chat.public_room_button(name)).to_have_count(1)
    expect(chat.my_room_button(name)).to_have_count(0)
    chat.open_room(name, join=False)
    expect(chat.messages.locator(".body")).to_have_text(["welcome, passers-by"])
    expect(page.get_by_label("Message", exact=True)).to_be_hidden()

    page.get_by_role("button", name="Join room").click()
    expect(chat.my_room_button(name)).to_have_count(1)
    expect(chat.public_room_button(name)).to_have_count(0)
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    expect(page.locator("#members li .member-name")).to_have_text(sorted([ada, cat]))
    chat.send("glad to be in")
    expect(chat.messages.locator(".body")).to_have_text(["welcome, passers-by", "glad to be in"])

    # Leaving: back to the list, where the room waits to be joined again.
    page.get_by_role("button", name="Leave room").click()
    expect(page.locator("#view-room")).to_be_hidden()
    expect(page.locator("#rooms-notice")).to_have_text(f"You left {name}.")
    expect(chat.my_room_button(name)).to_have_count(0)
    expect(chat.public_room_button(name)).to_have_count(1)
    members = rest.call("GET", f"/rooms/{room['id']}/members", ada_token, 200)["items"]
    assert [m["username"] for m in members] == [ada]


def test_messages_that_arrive_while_the_window_is_in_the_background_stay_unread_until_it_is_back(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ada, ben = unique("ada"), unique("ben")
    ada_token, ben_token = rest.user(ada), rest.user(ben)
    name = unique("away")
    room = rest.call("POST", "/rooms", ada_token, 201, json={"name": name})
    rest.call("POST", f"/rooms/{room['id']}/join", ben_token, 204)
    chat = open_page(service.base)
    chat.log_in(ben)
    chat.open_room(name)

    # The window loses focus (Playwright keeps every page focused, so the page is told so).
    chat.page.evaluate(
        "() => { window.__focused = false; document.hasFocus = () => window.__focused;"
        " window.dispatchEvent(new Event('blur')); }"
    )
    send_over_websocket(service.base, ada_token, room["id"], ["while you were away", "still away?"])
    expect(chat.messages).to_have_count(2)
    expect(chat.badge(name)).to_have_text("2")  # shown, but not seen
    assert chat.reads(room["id"]) == []

    chat.page.evaluate("() => { window.__focused = true; window.dispatchEvent(new Event('focus')); }")
    expect(chat.badge(name)).to_have_count(0)
    chat.wait_for_read(room["id"], 2)
