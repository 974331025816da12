"""Loading and error states: a request the server holds back shows that it is out where it was
asked (a busy control, or a line saying so); when it fails, the reason shows there too, and
asking again succeeds. Requests are held and failed through the page's routes."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import FilePayload, Locator, Page, Route, expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, send_over_websocket, unique

pytestmark = pytest.mark.slow

DOWN = "storage is down"


class Held:
    """Requests of `method` to `url` are held (the others go on) until `fail` answers 500."""

    def __init__(self, page: Page, url: str, method: str) -> None:
        self.page, self.url, self.method = page, url, method
        self.routes: list[Route] = []
        page.route(url, self._route)

    def _route(self, route: Route) -> None:
        if route.request.method == self.method:
            self.routes.append(route)
        else:
            route.continue_()

    def fail(self) -> None:
        """The one held request fails with DOWN; later ones reach the server."""
        assert len(self.routes) == 1, [r.request.url for r in self.routes]
        self.routes[0].fulfill(status=500, content_type="application/json", body=json.dumps({"detail": DOWN}))
        self.page.unroute(self.url)


def busy(control: Locator) -> None:
    """Busy: aria-busy, and no second click (aria-disabled) while its request is out."""
    expect(control).to_have_attribute("aria-busy", "true")
    expect(control).to_be_disabled()


def test_create_room_settings_reaction_upload_and_search_show_busy_then_why_then_retry(
    service: ServiceProcess, open_page: Callable[..., ChatPage]
) -> None:
    ann = open_page(service.base)
    ann.sign_up(unique("ann"))
    page = ann.page
    room = unique("room")

    # Create room: "Creating…", then the reason beside the form; again, and the room opens.
    held = Held(page, "**/api/v1/rooms", "POST")
    if page.locator("#view-home").is_hidden():
        page.get_by_role("button", name="+ New room").click()
    page.get_by_label("Name", exact=True).fill(room)
    page.get_by_role("button", name="Create room").click()
    busy(page.get_by_role("button", name="Creating…"))
    held.fail()
    expect(page.locator("#create-room-error")).to_have_text(DOWN)
    page.get_by_role("button", name="Create room").click()
    ann.wait_live()
    expect(page.locator("#room-title")).to_have_text(room)

    # Room settings: Save says "Saving…", then why it failed; saved on the second try.
    page.get_by_role("button", name="Settings").click()
    page.locator("#settings-description").fill("plans")
    held = Held(page, "**/api/v1/rooms/*", "PATCH")
    page.locator("#settings-save").click()
    busy(page.locator("#settings-save"))
    expect(page.locator("#settings-save")).to_have_text("Saving…")
    held.fail()
    expect(page.locator("#settings-error")).to_have_text(DOWN)
    expect(page.locator("#settings-save")).to_have_text("Save")
    page.locator("#settings-save").click()
    expect(page.locator("#settings-status")).to_have_text("Saved.")
    expect(page.locator("#settings-error")).to_have_text("")

    # A reaction taken back: its button busy, the reason on the message, then taken back.
    # A word of its own: the shared server holds other tests' "hello"s.
    word = f"greeting{uuid.uuid4().hex[:8]}"
    ann.send(f"hello there {word}")
    mine = ann.message(f"hello there {word}")
    mine.hover()
    mine.get_by_role("button", name="React").click()
    page.get_by_role("button", name="React with 👍").click()
    thumbs = mine.locator("button.reaction")
    expect(thumbs).to_have_text(["👍1"])
    held = Held(page, "**/reactions/*", "DELETE")
    thumbs.click()
    busy(thumbs)
    held.fail()
    failure = mine.locator(".action-failed")  # beside its buttons, announced
    expect(failure).to_contain_text(f"Could not take back 👍: {DOWN}")
    expect(thumbs).not_to_have_attribute("aria-busy", "true")
    thumbs.click()
    expect(thumbs).to_have_count(0)
    expect(failure).to_have_count(0)  # done: the reason goes

    # An upload: "uploading" while it is out, "not uploaded: why" and Retry, then uploaded.
    held = Held(page, "**/api/v1/files", "POST")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach files").click()
    notes: FilePayload = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"some notes"}
    chooser.value.set_files([notes])
    state = page.locator("#attachments li .attachment-state")
    expect(state).to_have_text(re.compile(r"^uploading \d+%$"))
    held.fail()
    expect(state).to_have_text(f"not uploaded: {DOWN}")
    page.get_by_role("button", name="Retry the upload of notes.txt").click()
    expect(state).to_have_text("uploaded")

    # Search: "Searching…" while out, the reason in its place, then the match.
    held = Held(page, "**/api/v1/search?*", "GET")
    box = page.get_by_role("searchbox", name="Search messages")
    box.fill(word)
    box.press("Enter")
    expect(page.locator("#search-status")).to_have_text("Searching…")
    held.fail()
    expect(page.locator("#search-status")).to_have_text(f"The search failed: {DOWN}")
    box.press("Enter")
    expect(page.locator("#search-results li")).to_have_count(1)


def test_a_history_page_and_join_show_busy_then_why_then_retry(
    short_replay: ServiceProcess, open_page: Callable[..., ChatPage]
) -> None:
    service = short_replay
    rest = Rest(service.base)
    ann_name, bob_name, room = unique("ann"), unique("bob"), unique("long")
    rest.user(ann_name)
    bob_token = rest.user(bob_name)
    room_id = rest.call("POST", "/rooms", bob_token, 201, json={"name": room})["id"]
    rest.close()
    send_over_websocket(service.base, bob_token, room_id, [f"line {n}" for n in range(1, 7)])
    ann = open_page(service.base)
    ann.log_in(ann_name)
    page = ann.page

    # Join: "Joining…", then the reason under it; joined on the second try.
    ann.open_room(room, join=False)
    held = Held(page, "**/api/v1/rooms/*/join", "POST")
    page.get_by_role("button", name="Join room").click()
    busy(page.locator("#join"))
    expect(page.locator("#join")).to_have_text("Joining…")
    held.fail()
    expect(page.locator("#join-error")).to_have_text(DOWN)
    page.get_by_role("button", name="Join room").click()
    expect(page.get_by_label("Message", exact=True)).to_be_visible()

    # An older page: the button says it is loading, then why it failed; loaded on the second try.
    expect(ann.messages).to_have_count(3)
    held = Held(page, "**/api/v1/rooms/*/messages?before_seq=*", "GET")
    older = page.locator("#older")
    older.click()
    busy(older)
    expect(older).to_have_text("Loading older messages…")
    held.fail()
    expect(older).to_have_text(f"Load older messages (failed: {DOWN})")
    older.click()
    expect(ann.messages).to_have_count(6)
