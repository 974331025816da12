"""Accessibility: every screen passes axe-core's WCAG 2.1 A and AA rules, every control the
keyboard reaches has a name, and new messages of others are announced in a polite live region."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from urllib.parse import quote

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.conftest import ServiceProcess
from tests.web.axe import focused_name, violations
from tests.web.conftest import ChatPage, Rest, TwoInARoom, unique

pytestmark = pytest.mark.slow

NARROW = {"width": 390, "height": 844}


def _check(found: dict[str, list[str]], screen: str, page: Page) -> None:
    found[screen] = violations(page)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (36, 86, 201)).save(out, "PNG")
    return out.getvalue()


def _assert_none(found: dict[str, list[str]]) -> None:
    report = [f"{screen}: {line}" for screen, lines in found.items() for line in lines]
    assert not report, "\n".join(report)


def test_sign_in_room_thread_search_and_settings_pass_axe_wcag_21_aa(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    found: dict[str, list[str]] = {}
    stranger = open_page(service.base)
    stranger.goto()
    expect(stranger.page.get_by_label("Username", exact=True)).to_be_focused()
    _check(found, "sign-in", stranger.page)
    stranger.page.get_by_role("button", name="Log in").click()
    expect(stranger.page.locator("#login-error")).not_to_be_empty()
    _check(found, "sign-in with an error", stranger.page)

    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    ann.send("Release **2.4** is _tagged_: see https://example.com/notes and run `make deploy`")
    bob.send("> tagged\nthanks, I'll watch the dashboards")
    expect(ann.messages).to_have_count(2)
    seq = int(ann.message("thanks, I'll watch the dashboards").get_attribute("data-seq") or 0)
    rest.call("PUT", f"/rooms/{two.room_id}/messages/{seq}/reactions/{quote('👍')}", two.ann_token, 204)
    expect(bob.messages.last.locator("button.reaction")).to_have_count(1)
    # Bob replies in the first message's thread: the pane beside the room.
    ann.messages.first.get_by_role("button", name="Reply").click()
    expect(ann.page.locator("#thread-pane")).to_be_visible()
    bob.messages.first.get_by_role("button", name="Reply").click()
    bob.page.get_by_label("Reply", exact=True).fill("the changelog @" + two.ann_name + " looks right")
    bob.page.get_by_label("Reply", exact=True).press("Enter")
    expect(ann.page.locator("#thread-replies li[data-seq]")).to_have_count(1)
    # Ann sends an image: a thumbnail in the log.
    auth = {"Authorization": f"Bearer {two.ann_token}"}
    upload = rest.http.post("/files", headers=auth, files={"file": ("chart.png", _png(), "image/png")})
    assert upload.status_code == 201, upload.text
    files = {"body": "", "files": [upload.json()["id"]]}
    rest.call("POST", f"/rooms/{two.room_id}/messages", two.ann_token, 201, json=files)
    for chat in (ann, bob):
        expect(chat.page.locator("#messages canvas.thumbnail")).to_have_attribute("data-state", "shown")
    ann.messages.first.hover()
    _check(found, "room with a thread open", ann.page)
    _check(found, "room with a thread open (the other user)", bob.page)

    bob.messages.last.get_by_role("button", name="React").click()
    expect(bob.page.locator("#reaction-picker")).to_be_visible()
    _check(found, "reaction picker", bob.page)
    bob.page.keyboard.press("Escape")
    bob.page.get_by_role("button", name=re.compile(r"^Open chart\.png")).click()
    expect(bob.page.locator("#image-view-canvas")).to_have_attribute("data-state", "shown")
    _check(found, "an image full size", bob.page)
    bob.page.keyboard.press("Escape")
    expect(bob.page.locator("#image-view")).to_be_hidden()

    # Bob's own message being edited, a name being completed, Ann's name opening its menu.
    bob.message("thanks, I'll watch the dashboards").get_by_role("button", name="Edit").click()
    expect(bob.page.get_by_label("Edit message")).to_be_focused()
    bob.page.get_by_label("Message", exact=True).press_sequentially(f"ask @{two.ann_name[:4]}")
    expect(bob.page.get_by_role("listbox", name="People to mention")).to_be_visible()
    _check(found, "editing, and a mention being completed", bob.page)
    bob.page.get_by_label("Message", exact=True).press("Escape")
    bob.messages.first.get_by_role("button", name=two.ann_name, exact=True).click()
    expect(bob.page.locator("#user-menu")).to_be_visible()
    _check(found, "a user's menu", bob.page)
    bob.page.keyboard.press("Escape")
    bob.page.get_by_role("button", name="Compact layout").click()
    _check(found, "compact layout", bob.page)
    bob.page.get_by_role("button", name="Compact layout").click()

    ann.page.get_by_label("Search messages").fill("dashboards")
    ann.page.get_by_label("Search messages").press("Enter")
    expect(ann.page.locator("#search-results li")).to_have_count(1)
    _check(found, "search results", ann.page)
    ann.page.keyboard.press("Escape")

    ann.page.get_by_role("button", name="Settings").click()
    expect(ann.page.get_by_label("Room name")).to_be_focused()
    _check(found, "room settings", ann.page)
    ann.page.get_by_role("button", name="Delete room…").click()
    _check(found, "room settings, deleting", ann.page)

    ann.page.get_by_role("button", name="Pinned").click()
    expect(ann.page.locator("#pins-pane")).to_be_visible()
    _check(found, "pinned messages", ann.page)

    bob.page.evaluate("location.hash = '#/rooms'")
    expect(bob.page.locator("#view-home")).to_be_visible()
    _check(found, "home", bob.page)

    _assert_none(found)


def test_the_390_px_layout_passes_axe_wcag_21_aa(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    found: dict[str, list[str]] = {}
    name = unique("nina")
    room = unique("standup")
    token = rest.user(name)
    room_id = rest.call("POST", "/rooms", token, 201, json={"name": room, "description": "Daily notes"})["id"]
    # Omar wrote while Nina was away: the room opens at the new-messages line.
    omar = rest.user(unique("omar"))
    rest.call("POST", f"/rooms/{room_id}/join", omar, 204)
    for n in range(1, 21):
        rest.call("POST", f"/rooms/{room_id}/messages", omar, 201, json={"body": f"note {n} of the week"})
    chat = open_page(service.base, viewport=NARROW)
    chat.goto()
    _check(found, "sign-in", chat.page)
    chat.log_in(name)
    _check(found, "rooms", chat.page)
    chat.open_room(room)
    expect(chat.page.locator("#messages .unread-line")).to_be_visible()
    _check(found, "room at the new-messages line", chat.page)
    chat.send("standup in 5")
    expect(chat.messages).to_have_count(21)
    _check(found, "room", chat.page)
    chat.messages.last.get_by_role("button", name="Reply").click()
    expect(chat.page.locator("#thread-pane")).to_be_visible()
    _check(found, "thread", chat.page)
    chat.page.get_by_role("button", name="Close").click()
    chat.page.get_by_role("button", name="Settings").click()
    expect(chat.page.get_by_label("Room name")).to_be_focused()
    _check(found, "room settings", chat.page)
    chat.page.get_by_label("Search messages").fill("standup")
    chat.page.get_by_label("Search messages").press("Enter")
    expect(chat.page.locator("#search-results li")).to_have_count(1)
    _check(found, "search results", chat.page)
    _assert_none(found)


def test_every_control_the_keyboard_reaches_on_the_room_screen_has_a_name_and_none_is_left_out(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    bob.send("morning! the build is green")
    expect(ann.messages).to_have_count(1)
    seq = int(ann.messages.first.get_attribute("data-seq") or 0)
    rest.call("PUT", f"/rooms/{two.room_id}/messages/{seq}/reactions/{quote('🎉')}", two.ann_token, 204)
    ann.send("great, shipping it")
    expect(ann.messages.last.locator(".actions")).to_have_count(1)
    # The thread pane open beside the room: its controls are in the round too.
    ann.messages.first.get_by_role("button", name="Reply").click()
    expect(ann.page.locator("#thread-pane")).to_be_visible()
    page = ann.page
    page.locator("body").focus()
    reached: list[tuple[str, str, str]] = []
    first = None
    for _ in range(200):
        page.keyboard.press("Tab")
        marker = page.evaluate(
            "() => { const el = document.activeElement; el.dataset.tabbed = '1';"
            " return el === document.body ? '' : el.outerHTML.slice(0, 80); }"
        )
        if first is None:
            first = marker
        elif marker == first:
            break  # round the page once
        if marker:
            reached.append(focused_name(page))
    unnamed = [(role, html) for role, name, html in reached if not name]
    assert reached and unnamed == []
    # Every visible control is a tab stop the loop above reached (none only for the mouse).
    missed = page.evaluate(
        "() => [...document.querySelectorAll('button, a[href], input, textarea, select, summary, [tabindex]')]"
        ".filter(el => el.checkVisibility() && !el.disabled && el.tabIndex >= 0 && !el.dataset.tabbed)"
        ".map(el => el.outerHTML.slice(0, 120))"
    )
    assert missed == []


def test_a_new_message_of_another_user_is_announced_in_a_polite_live_region_and_ones_own_is_not(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    said = {chat: chat.page.locator("#announcer[aria-live=polite] p") for chat in (ann, bob)}

    ann.send("the deploy is done")
    expect(said[bob]).to_have_text([f"{two.ann_name}: the deploy is done"])
    bob.send("nice, **thanks**")
    expect(said[ann]).to_have_text([f"{two.bob_name}: nice, thanks"])  # as shown, not its Markdown
    expect(bob.message("nice, thanks")).to_have_count(1)  # echoed: Bob's own is never announced
    expect(said[bob]).to_have_text([f"{two.ann_name}: the deploy is done"])
    # The log is no live region: a redraw of the list is not read out again.
    for chat in (ann, bob):
        live = "list => list.closest('[aria-live], [role=log], [role=status], [role=alert]') === null"
        assert chat.page.locator("#messages").evaluate(live)

    # A reply in the thread the user has open is announced as a reply.
    bob.message("the deploy is done").get_by_role("button", name="Reply").click()
    ann.message("the deploy is done").get_by_role("button", name="Reply").click()
    ann.page.get_by_label("Reply", exact=True).fill("metrics look `normal`")
    ann.page.get_by_label("Reply", exact=True).press("Enter")
    expect(said[bob]).to_have_text(
        [f"{two.ann_name}: the deploy is done", f"{two.ann_name} replied: metrics look normal"]
    )

    # What a reload replays is not news; what comes after it is.
    bob.page.reload()
    bob.wait_live()
    expect(bob.messages).to_have_count(2)
    ann.send("> lunch?\nyes, at noon")
    expect(said[bob]).to_have_text([f"{two.ann_name}: lunch? yes, at noon"])
    # Signing out leaves nothing of it in the page for whoever signs in next.
    bob.page.get_by_role("button", name="Log out").click()
    expect(bob.page.locator("#view-login")).to_be_visible()
    expect(said[bob]).to_have_count(0)
