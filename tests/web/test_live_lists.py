"""Lists kept live: a public room another user makes appears without Refresh, the
Members panel follows joins and leaves, and presence says "reconnecting" while the
socket is down (docs/web-client.md)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, SocketGate, unique


def test_a_room_made_by_another_user_and_its_members_update_live(
    service: ServiceProcess, open_page: Callable[..., ChatPage], rest: Rest
) -> None:
    alice, bob = open_page(service.base), open_page(service.base)
    alice.sign_up(unique("alice"))
    bob.sign_up(unique("bob"))
    room = unique("live")
    alice.create_room(room)
    # No Refresh: the room comes to Bob's list by itself.
    expect(bob.public_room_button(room)).to_have_count(1)
    expect(alice.page.locator("#members li")).to_have_count(1)

    bob.public_room_button(room).click()
    bob.wait_live()
    bob.page.get_by_role("button", name="Join room").click()
    for page in (alice, bob):
        expect(page.page.locator("#members-count")).to_have_text("(2)")
    carol_name = unique("carol")
    carol = rest.user(carol_name)
    room_id = next(r["id"] for r in rest.call("GET", "/rooms?limit=200", carol, 200)["items"] if r["name"] == room)
    rest.call("POST", f"/rooms/{room_id}/join", carol, 204)
    for page in (alice, bob):
        expect(page.page.locator("#members li")).to_have_count(3)
        expect(page.page.locator("#members")).to_contain_text(carol_name)
    carol_id = rest.call("GET", "/users/me", carol, 200)["id"]
    rest.call("DELETE", f"/rooms/{room_id}/members/{carol_id}", carol, 204)
    for page in (alice, bob):
        expect(page.page.locator("#members-count")).to_have_text("(2)")
        expect(page.page.locator("#members")).not_to_contain_text(carol_name)


def test_presence_says_reconnecting_while_the_socket_is_down(
    service: ServiceProcess, open_page: Callable[..., ChatPage]
) -> None:
    alice, bob = open_page(service.base), open_page(service.base)
    gate = SocketGate(bob.page)
    alice.sign_up(unique("alice"))
    bob.sign_up(unique("bob"))
    room = unique("presence")
    alice.create_room(room)
    bob.public_room_button(room).click()
    bob.wait_live()
    expect(bob.page.locator("#online-count")).to_have_text("(2)")

    gate.hold = True
    gate.close_latest(1011, "internal error")
    expect(bob.page.locator("#online-count")).to_have_text("(reconnecting…)")
    expect(bob.page.locator("#online")).to_have_attribute("aria-busy", "true")
    gate.release()
    bob.wait_live()
    expect(bob.page.locator("#online-count")).to_have_text("(2)")
    expect(bob.page.locator("#online")).to_have_attribute("aria-busy", "false")
