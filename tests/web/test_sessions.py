"""One login shared by the tabs of a browser: signed in in every tab and across reloads,
refreshed by one tab at a time (the service revokes a login whose refresh token comes
back twice), and signed out everywhere at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, unique

pytestmark = pytest.mark.slow

OWN_TOKEN = "() => JSON.parse(sessionStorage.getItem('chat.session')).access_token"


def another_tab(chat: ChatPage) -> ChatPage:
    """A second tab of the same browser (its storage shared with the first), on the client."""
    tab = ChatPage(chat.page.context.new_page(), chat.base)
    tab.goto()
    return tab


def signed_in(chat: ChatPage, username: str) -> None:
    expect(chat.page.locator("#view-rooms")).to_be_visible()
    expect(chat.page.locator("#whoami")).to_have_text(f"Signed in as {username}")


def signed_out(chat: ChatPage, notice: str) -> None:
    expect(chat.page.locator("#view-login")).to_be_visible()
    expect(chat.page.locator("#login-notice")).to_contain_text(notice)


def two_tabs(service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]) -> tuple[str, ChatPage, ChatPage]:
    """A user signed in in one tab, and a second tab of the same browser, signed in by it."""
    name = unique("tess")
    rest.user(name)
    first = open_page(service.base)
    first.log_in(name)
    second = another_tab(first)
    signed_in(second, name)
    return name, first, second


def test_a_new_tab_and_reloads_stay_signed_in(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    name, first, second = two_tabs(service, rest, open_page)
    second.page.wait_for_function("() => sessionStorage.getItem('chat.session') !== null")
    assert second.access_token() != first.access_token()  # each tab has its own, from a refresh of its own

    for tab in (first, second):
        tab.page.reload()
        signed_in(tab, name)
    assert first.errors == second.errors == []


def test_tabs_refreshing_at_once_keep_their_login(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    name, room = unique("tess"), unique("tabs")
    rest.user(name)
    first = open_page(service.base)
    context = first.page.context
    context.clock.install()
    first.log_in(name)
    first.create_room(room)
    second = another_tab(first)
    signed_in(second, name)
    second.open_room(room)
    old = [first.access_token(), second.access_token()]

    # Both tabs' access tokens near their expiry (15 minutes) at the same moment: both refresh.
    context.clock.fast_forward("14:30")
    for tab, token in zip((first, second), old, strict=True):
        tab.page.wait_for_function(f"old => ({OWN_TOKEN})() !== old", arg=token)

    # No refresh token was presented twice: the login is not revoked, and both tabs work on.
    for tab in (first, second):
        assert rest.call("GET", "/users/me", tab.access_token(), 200)["username"] == name
        tab.wait_live()
    second.send("still here")
    expect(first.message("still here")).to_have_count(1)
    first.send("me too")
    expect(second.message("me too")).to_have_count(1)
    assert first.errors == second.errors == []


def test_signing_out_in_one_tab_signs_out_the_other_and_in_again(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    name, first, second = two_tabs(service, rest, open_page)

    second.page.get_by_role("button", name="Log out").click()
    signed_out(second, "You are signed out.")
    signed_out(first, "signed out in another tab")
    second.page.reload()
    signed_out(second, "")

    first.log_in(name)
    signed_in(second, name)
    assert first.errors == second.errors == []


def test_a_revoked_login_signs_out_every_tab(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    name, first, second = two_tabs(service, rest, open_page)

    # Logging out elsewhere with one tab's access token revokes the login both tabs share.
    rest.call("POST", "/auth/logout", first.access_token(), 204)
    for tab in (first, second):
        signed_out(tab, "token revoked")  # the other tab is told why, too
        tab.page.reload()
        expect(tab.page.locator("#view-login")).to_be_visible()
    assert first.errors == second.errors == []
