"""What the page does when the server closes its socket for good."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, unique

pytestmark = pytest.mark.slow


def test_room_deleted_returns_to_the_room_list_with_the_reason(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    owner, room_name = unique("olga"), unique("doomed")
    token = rest.user(owner)
    room = rest.call("POST", "/rooms", token, 201, json={"name": room_name})
    chat = open_page(service.base)
    chat.log_in(owner)
    chat.open_room(room_name)

    rest.call("DELETE", f"/rooms/{room['id']}", token, 204)
    expect(chat.page.locator("#view-room")).to_be_hidden()
    expect(chat.page.locator("#view-rooms")).to_be_visible()
    expect(chat.page.locator("#rooms-notice")).to_contain_text("room deleted")
    expect(chat.page.locator("#room-list").get_by_text(room_name, exact=True)).to_have_count(0)


def test_removed_member_returns_to_the_room_list_with_the_reason(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    owner, member, room_name = unique("olga"), unique("max"), unique("private")
    owner_token = rest.user(owner)
    rest.user(member)
    room = rest.call("POST", "/rooms", owner_token, 201, json={"name": room_name, "private": True})
    added = rest.call("POST", f"/rooms/{room['id']}/members", owner_token, 201, json={"username": member})
    chat = open_page(service.base)
    chat.log_in(member)
    chat.open_room(room_name)

    rest.call("DELETE", f"/rooms/{room['id']}/members/{added['id']}", owner_token, 204)
    expect(chat.page.locator("#view-room")).to_be_hidden()
    expect(chat.page.locator("#view-rooms")).to_be_visible()
    expect(chat.page.locator("#rooms-notice")).to_contain_text("removed from room")
    expect(chat.page.locator("#room-list").get_by_text(room_name, exact=True)).to_have_count(0)


def test_revoked_token_returns_to_sign_in_with_the_reason(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    username, room_name = unique("rita"), unique("open")
    rest.call("POST", "/rooms", rest.user(username), 201, json={"name": room_name})
    chat = open_page(service.base)
    chat.log_in(username)
    chat.open_room(room_name)

    # Logging out elsewhere with this tab's access token revokes it.
    rest.call("POST", "/auth/logout", chat.access_token(), 204)
    expect(chat.page.locator("#view-login")).to_be_visible()
    expect(chat.page.locator("#login-notice")).to_contain_text("token revoked")
    assert chat.page.evaluate("sessionStorage.getItem('chat.session')") is None
