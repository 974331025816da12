"""Desktop notifications: asked for on a click, never on load; a mention that arrives while
the page is hidden shows one (the page's Notification observed), and the new-messages line
stands above what came meanwhile once the page is seen again; a room turned off shows
none, and stays off across a reload."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, send_over_websocket, unique

pytestmark = pytest.mark.slow

# The browser's own Notification, granted in the context, with what the page does kept.
OBSERVE = """
window.__asked = 0; window.__shown = [];
const Native = window.Notification;
window.Notification = class extends Native {
  constructor(title, options) { super(title, options); window.__shown.push({ title, body: options.body }); }
  static requestPermission() { window.__asked += 1; return Native.requestPermission(); }
};
"""

HIDE = """() => {
  Object.defineProperty(document, 'visibilityState', { get: () => 'hidden', configurable: true });
  Object.defineProperty(document, 'hidden', { get: () => true, configurable: true });
  document.hasFocus = () => false;
  document.dispatchEvent(new Event('visibilitychange'));
}"""

SHOW = """() => {
  delete document.visibilityState;
  delete document.hidden;
  delete document.hasFocus;
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def shown(page: Page) -> list[dict[str, str]]:
    notes: list[dict[str, str]] = page.evaluate("window.__shown")
    return notes


def test_a_mention_while_the_page_is_hidden_notifies_unless_the_room_is_turned_off(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ann, bob = unique("ann"), unique("bob")
    ann_token, bob_token = rest.user(ann), rest.user(bob)
    name, other = unique("ping"), unique("pong")
    room = rest.call("POST", "/rooms", ann_token, 201, json={"name": name})["id"]
    side = rest.call("POST", "/rooms", ann_token, 201, json={"name": other})["id"]
    for room_id in (room, side):
        rest.call("POST", f"/rooms/{room_id}/join", bob_token, 204)

    chat = open_page(service.base)
    chat.page.add_init_script(OBSERVE)
    chat.log_in(bob)
    page = chat.page
    chat.open_room(name)
    # Nothing asked on load; a click asks, and the control goes once it is allowed.
    assert page.evaluate("window.__asked") == 0
    page.context.grant_permissions(["notifications"])  # what the user answers when asked
    page.get_by_role("button", name="Turn on notifications").click()
    expect(page.get_by_role("button", name="Turn on notifications")).to_be_hidden()
    assert page.evaluate("window.__asked") == 1
    toggle = page.get_by_role("button", name="Notifications", exact=True)
    expect(toggle).to_have_attribute("aria-pressed", "true")

    # Seen as it comes while Bob looks: no notification.
    send_over_websocket(service.base, ann_token, room, [f"@{bob} while you look"])
    expect(chat.message(f"@{bob} while you look")).to_have_count(1)
    assert shown(page) == []

    page.evaluate(HIDE)
    send_over_websocket(service.base, ann_token, room, ["nothing for you", f"@{bob} are you there?"])
    page.wait_for_function("count => window.__shown.length >= count", arg=1)
    assert shown(page) == [{"title": f"{ann} in {name}", "body": f"@{bob} are you there?"}]
    # Back to the page: the new-messages line stands above what came meanwhile.
    page.evaluate(SHOW)
    expect(page.locator("#messages .unread-line + li[data-seq] .body")).to_have_text("nothing for you")

    # Turned off for the room: none, and still off after a reload.
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    page.evaluate(HIDE)
    send_over_websocket(service.base, ann_token, room, [f"@{bob} hello?"])
    # A mention in another room afterwards does notify: the one before it would have come first.
    send_over_websocket(service.base, ann_token, side, [f"@{bob} over here"])
    page.wait_for_function("count => window.__shown.length >= count", arg=2)
    assert shown(page)[1:] == [{"title": f"{ann} in {other}", "body": f"@{bob} over here"}]
    page.reload()
    chat.wait_live()
    expect(toggle).to_have_attribute("aria-pressed", "false")
