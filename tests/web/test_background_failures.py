"""Requests the page makes by itself (no button pressed) that fail say so where their content
shows, with Retry, and clear themselves once one goes through; a reaction or a pin that fails
says so on its message. Requests fail through the page's routes (500 with a reason)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, SocketGate, send_over_websocket, unique

pytestmark = pytest.mark.slow

DOWN = "storage is down"


class Failing:
    """Requests of `method` to `url` answer 500 with DOWN until `stop`; others go on."""

    def __init__(self, page: Page, url: str | re.Pattern[str], method: str = "GET") -> None:
        self.page, self.url, self.method = page, url, method
        page.route(url, self._route)

    def _route(self, route: Route) -> None:
        if route.request.method != self.method:
            route.continue_()
            return
        route.fulfill(status=500, content_type="application/json", body=json.dumps({"detail": DOWN}))

    def stop(self) -> None:
        self.page.unroute(self.url, self._route)


def shows(note: Locator, text: str) -> None:
    """The note is in view with why, and a screen reader was told (the polite live region)."""
    expect(note).to_be_visible()
    expect(note).to_contain_text(text)
    expect(note.page.locator("#announcer")).to_contain_text(text)


class Room:
    """Ann's room, which Bob has joined; Bob's tab has it open, his socket through a SocketGate.
    Ann writes from outside the browser."""

    def __init__(self, service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]) -> None:
        self.base, self.rest = service.base, rest
        bob_name, self.name = unique("bob"), unique("room")
        self.ann_token, bob_token = rest.user(unique("ann")), rest.user(bob_name)
        self.id: int = rest.call("POST", "/rooms", self.ann_token, 201, json={"name": self.name})["id"]
        rest.call("POST", f"/rooms/{self.id}/join", bob_token, 204)
        self.bob = open_page(service.base)
        self.gate = SocketGate(self.bob.page)
        self.bob.log_in(bob_name)
        self.bob.open_room(self.name)

    def ann_writes(self, body: str, thread_seq: int | None = None) -> None:
        send_over_websocket(self.base, self.ann_token, self.id, [body], thread_seq)


def test_the_threads_list_and_the_rooms_asked_after_a_reconnect_say_they_failed_then_clear(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    room = Room(service, rest, open_page)
    bob = room.bob
    word = unique("plan")
    room.ann_writes(word)
    expect(bob.message(word)).to_have_count(1)

    # A reply of Ann's makes Bob's page ask for his threads again: it fails, and says so there.
    threads = Failing(bob.page, "**/api/v1/users/me/threads?*")
    room.ann_writes(f"first {word}", thread_seq=1)
    note = bob.page.locator("#threads-problem")
    shows(note, f"Threads could not be loaded: {DOWN}")
    expect(note.get_by_role("button", name="Retry")).to_be_visible()
    # The next reply asks again, and it goes through: the note goes by itself.
    threads.stop()
    room.ann_writes(f"second {word}", thread_seq=1)
    expect(note).to_be_hidden()

    # Bob is away while Ann makes a public room; asked again on his return, the list of
    # rooms to join fails: it says so above his rooms. Retry brings Ann's room.
    room.gate.hold = True
    room.gate.close_latest(1012)
    expect(bob.connection).to_contain_text("reconnecting")
    made = unique("made")
    rest.call("POST", "/rooms", room.ann_token, 201, json={"name": made})
    listed = Failing(bob.page, re.compile(r"/api/v1/rooms\?limit="))
    room.gate.wait_for_connections(2)
    room.gate.release()
    bob.wait_live()
    note = bob.page.locator("#rooms-problem")
    shows(note, f"Rooms could not be loaded: {DOWN}")
    expect(bob.public_room_button(made)).to_have_count(0)
    listed.stop()
    note.get_by_role("button", name="Retry").click()
    expect(note).to_be_hidden()
    expect(bob.public_room_button(made)).to_have_count(1)


def test_unread_counts_and_missed_messages_say_they_failed_then_clear(
    short_replay: ServiceProcess, open_page: Callable[..., ChatPage]
) -> None:
    # Three messages on connect and in a replay: six unread are more than the page holds.
    service = short_replay
    rest = Rest(service.base)
    ann_name, bob_name, room = unique("ann"), unique("bob"), unique("counts")
    ann_token, bob_token = rest.user(ann_name), rest.user(bob_name)
    room_id = rest.call("POST", "/rooms", bob_token, 201, json={"name": room})["id"]
    rest.call("POST", f"/rooms/{room_id}/join", ann_token, 204)
    send_over_websocket(service.base, bob_token, room_id, [f"note {n}" for n in range(1, 7)])
    ann = open_page(service.base)
    gate = SocketGate(ann.page)
    ann.log_in(ann_name)
    expect(ann.badge(room)).to_have_text("6")
    # The socket's hello asks for the lists again; that ask must end before one is made to fail.
    ann.page.wait_for_function(
        "count => performance.getEntriesByType('resource').filter((e) => e.name.includes('/users/me/rooms?')).length"
        " >= count",
        arg=2,
    )
    expect(ann.page.locator("#view-rooms")).to_have_attribute("aria-busy", "false")

    def edit(seq: int) -> None:
        """Bob edits a message Ann's page does not hold: its counts need the server."""
        path = f"/rooms/{room_id}/messages/{seq}"
        rest.call("PATCH", path, bob_token, 200, json={"body": f"note {seq}, edited"})

    # The counts asked again fail: the sidebar says so; Retry asks again.
    counts = Failing(ann.page, "**/api/v1/users/me/rooms?*")
    edit(1)
    note = ann.page.locator("#rooms-problem")
    shows(note, f"Unread counts could not be refreshed: {DOWN}")
    counts.stop()
    note.get_by_role("button", name="Retry").click()
    expect(note).to_be_hidden()
    # Again, and the next edit's recount clears it by itself.
    counts = Failing(ann.page, "**/api/v1/users/me/rooms?*")
    edit(2)
    shows(note, f"Unread counts could not be refreshed: {DOWN}")
    counts.stop()
    edit(3)
    expect(note).to_be_hidden()
    expect(ann.badge(room)).to_have_text("6")

    # Away while Bob writes five: the replay holds three, and the page of the two
    # before them fails. The room says so; Retry brings them.
    ann.room_button(room).click()
    ann.wait_live()
    gate.hold = True
    gate.close_latest(1012)
    expect(ann.connection).to_contain_text("reconnecting")
    send_over_websocket(service.base, bob_token, room_id, [f"missed {n}" for n in range(1, 6)])
    gaps = Failing(ann.page, "**/events?after_seq=*")
    gate.wait_for_connections(2)
    gate.release()
    ann.wait_live()
    note = ann.page.locator("#missed-problem")
    shows(note, f"Missed messages could not be loaded: {DOWN}")
    expect(ann.message("missed 5")).to_have_count(1)
    expect(ann.message("missed 1")).to_have_count(0)
    gaps.stop()
    note.get_by_role("button", name="Retry").click()
    expect(note).to_be_hidden()
    expect(ann.messages.filter(has_text="missed")).to_have_count(5)
    rest.close()


def test_names_offered_while_typing_say_the_lookup_failed_then_clear(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ann_name, bob_name = unique("ann"), unique("bobby")
    rest.user(ann_name)
    rest.user(bob_name)
    ann = open_page(service.base)
    ann.log_in(ann_name)
    page = ann.page

    lookups = Failing(page, "**/api/v1/users?*")
    field = page.get_by_label("Message someone")
    field.fill(bob_name[:-2])
    note = page.locator("#dm-suggestions-problem")
    shows(note, f"Names could not be looked up: {DOWN}")
    # Typing on asks again; it goes through, Bob is offered and the note goes.
    lookups.stop()
    field.fill(bob_name[:-1])
    expect(page.locator(f'#dm-suggestions option[value="{bob_name}"]')).to_have_count(1)
    expect(note).to_be_hidden()


def test_a_reaction_or_a_pin_that_fails_says_so_on_its_message(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    room = Room(service, rest, open_page)  # Bob reacts and pins Ann's message here
    bob = room.bob
    word = unique("lunch")
    room.ann_writes(word)
    message = bob.message(word)
    expect(message).to_have_count(1)
    failure = message.locator(".action-failed")

    # Bob's 👍 on Ann's message fails: why shows on that message, and is read out.
    reacting = Failing(bob.page, "**/reactions/*", "PUT")
    message.hover()
    message.get_by_role("button", name="React").click()
    bob.page.get_by_role("button", name="React with 👍").click()
    shows(failure, f"Could not add 👍: {DOWN}")
    expect(bob.page.locator("#room-notice")).to_be_hidden()
    # Dismissed from the keyboard; the focus stays on the message.
    failure.get_by_role("button", name="Dismiss").focus()
    bob.page.keyboard.press("Enter")
    expect(failure).to_have_count(0)
    expect(message.get_by_role("button", name="Reply", exact=True)).to_be_focused()
    reacting.stop()

    # A pin fails; pinned on the second try, the failure goes by itself, pinned for Ann too.
    pinning = Failing(bob.page, "**/pins/*", "PUT")
    message.get_by_role("button", name="Pin").click()
    shows(failure, f"Could not pin: {DOWN}")
    pinning.stop()
    message.get_by_role("button", name="Pin").click()
    expect(failure).to_have_count(0)
    expect(message.locator(".pin-mark")).to_have_text("Pinned")
    pins = rest.call("GET", f"/rooms/{room.id}/pins", room.ann_token, 200)["items"]
    assert [pin["body"] for pin in pins] == [word]
