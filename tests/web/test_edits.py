"""Editing and deleting messages: controls only where the user may use them, changes
shown live in every browser and after a reload or a reconnect, deleted text never shown."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, SocketGate, send_over_websocket, unique

pytestmark = pytest.mark.slow


def _two_in_a_room(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> tuple[ChatPage, ChatPage]:
    """Olga owns a room, Max has joined it; both have it open."""
    olga_name, max_name, name = unique("olga"), unique("max"), unique("edits")
    olga_token, max_token = rest.user(olga_name), rest.user(max_name)
    room = rest.call("POST", "/rooms", olga_token, 201, json={"name": name})
    rest.call("POST", f"/rooms/{room['id']}/join", max_token, 204)
    olga, max_ = open_page(service.base), open_page(service.base)
    olga.log_in(olga_name)
    max_.log_in(max_name)
    olga.open_room(name)
    max_.open_room(name)
    return olga, max_


def test_controls_only_on_messages_the_user_may_change(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    olga, max_ = _two_in_a_room(service, rest, open_page)
    olga.send("from the owner")
    max_.send("from a member")
    for page in (olga, max_):
        expect(page.messages).to_have_count(2)

    # Max edits and deletes his own message only.
    mine, theirs = max_.message("from a member"), max_.message("from the owner")
    expect(mine.get_by_role("button", name="Edit")).to_have_count(1)
    expect(mine.get_by_role("button", name="Delete")).to_have_count(1)
    # No Edit or Delete on another's message: besides the author's name ("Message <name>"),
    # its buttons are those of any member (Reply, React, Pin).
    expect(theirs.locator("button:not(.user-link):not(.tool)")).to_have_count(0)
    expect(theirs.locator("button.user-link")).to_have_text([re.compile(r"^olga_")])
    expect(theirs.locator("button.tool")).to_have_text(["Reply", "React", "Pin"])
    # Olga owns the room: she edits her own and deletes any, but edits no one else's.
    expect(olga.message("from the owner").get_by_role("button", name="Edit")).to_have_count(1)
    expect(olga.message("from a member").get_by_role("button", name="Delete")).to_have_count(1)
    expect(olga.message("from a member").get_by_role("button", name="Edit")).to_have_count(0)

    # The owner deletes the member's message: both see a tombstone with no controls.
    olga.message("from a member").get_by_role("button", name="Delete").click()
    olga.page.get_by_role("button", name="Yes, delete").click()
    for page in (olga, max_):
        expect(page.messages.locator(".body")).to_have_text(["from the owner", "message deleted"])
        expect(page.messages.last.locator("button:not(.user-link)")).to_have_count(0)
        expect(page.page.locator("#log")).not_to_contain_text("from a member")


def test_an_edit_shows_in_the_other_browser_live(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    olga, max_ = _two_in_a_room(service, rest, open_page)
    max_.send("helo everyone")
    expect(olga.messages.locator(".body")).to_have_text(["helo everyone"])
    page = max_.page

    # From the keyboard: Edit opens the editor on the message's text; Escape gives up.
    edit = max_.message("helo everyone").get_by_role("button", name="Edit")
    edit.focus()
    page.keyboard.press("Enter")
    editor = page.get_by_label("Edit message")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("helo everyone")
    page.keyboard.press("Escape")
    expect(editor).to_have_count(0)
    expect(edit).to_be_focused()

    # Enter saves; markup stays text.
    page.keyboard.press("Enter")
    editor.fill("hello everyone <b onmouseover=window.__xss=1>again</b>")
    editor.press("Enter")
    edited = "hello everyone <b onmouseover=window.__xss=1>again</b>"
    for chat in (max_, olga):
        expect(chat.messages.locator(".body")).to_have_text([edited])
        expect(chat.messages.locator(".edited")).to_have_text(["(edited)"])
        assert chat.page.locator("#messages b").count() == 0
    expect(max_.message(edited).get_by_role("button", name="Edit")).to_be_focused()
    assert max_.seqs() == olga.seqs() == [1]  # the edit took seq 2 of the stream, not a place in the log

    # An empty edit is refused here, before the server is asked.
    max_.message(edited).get_by_role("button", name="Edit").click()
    editor.fill("   ")
    editor.press("Enter")
    expect(max_.messages.locator(".error")).to_contain_text("cannot be empty")
    page.get_by_role("button", name="Cancel").click()
    expect(olga.messages.locator(".body")).to_have_text([edited])


def test_a_delete_shows_a_tombstone_live_after_a_reload_and_after_a_reconnect(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ann, bea, name = unique("ann"), unique("bea"), unique("oops")
    ann_token, bea_token = rest.user(ann), rest.user(bea)
    room = rest.call("POST", "/rooms", ann_token, 201, json={"name": name})
    messages = f"/rooms/{room['id']}/messages"
    rest.call("POST", f"/rooms/{room['id']}/join", bea_token, 204)
    author, reader = open_page(service.base), open_page(service.base)
    gate = SocketGate(reader.page)
    author.log_in(ann)
    reader.log_in(bea)
    author.open_room(name)
    reader.open_room(name)
    for body in ("my password is hunter2", "ignore that", "typo hree"):
        author.send(body)
    expect(reader.messages).to_have_count(3)

    # Live.
    author.message("my password is hunter2").get_by_role("button", name="Delete").click()
    author.page.get_by_role("button", name="Yes, delete").click()
    expected = ["message deleted", "ignore that", "typo hree"]
    for chat in (author, reader):
        expect(chat.messages.locator(".body")).to_have_text(expected)
        expect(chat.page.locator("#log")).not_to_contain_text("hunter2")
    expect(author.page.get_by_label("Message", exact=True)).to_be_focused()

    # A reload replays the message in its current state: still a tombstone.
    reader.page.reload()
    reader.wait_live()
    expect(reader.messages.locator(".body")).to_have_text(expected)
    expect(reader.page.locator("#log")).not_to_contain_text("hunter2")
    assert reader.seqs() == [1, 2, 3]

    # Changes made while the reader is away arrive with the resume (since = its cursor, seq 4).
    gate.hold = True
    gate.close_latest(1012)
    expect(reader.connection).to_contain_text("reconnecting")
    rest.call("PATCH", f"{messages}/3", ann_token, 200, json={"body": "typo three"})  # seq 5
    rest.call("DELETE", f"{messages}/2", ann_token, 204)  # seq 6
    send_over_websocket(service.base, ann_token, room["id"], ["back to normal"])  # seq 7
    gate.wait_for_connections(2)
    gate.release()
    reader.wait_live()
    expected = ["message deleted", "message deleted", "typo three", "back to normal"]
    expect(reader.messages.locator(".body")).to_have_text(expected)
    expect(reader.messages.locator(".edited")).to_have_text(["(edited)"])
    assert reader.seqs() == [1, 2, 3, 7]
    resumed = [r["since"] for r in gate.subscribes()[-1] if r["room"] == room["id"]]
    assert resumed == [4], gate.subscribes()
    # The author saw the same, live.
    expect(author.messages.locator(".body")).to_have_text(expected)
