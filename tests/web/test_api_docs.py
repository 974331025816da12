"""/docs and /redoc work with the network to everything but the service blocked."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Route, expect

from tests.conftest import PASSWORD, ServiceProcess
from tests.web.conftest import ChatPage, Rest, unique

pytestmark = pytest.mark.slow


def _offline(chat: ChatPage, base: str) -> list[str]:
    """Abort every request that is not for the service; the list of those aborted."""
    service = urlsplit(base).netloc
    blocked: list[str] = []

    def route(route: Route) -> None:
        if urlsplit(route.request.url).netloc == service:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    chat.page.context.route("**/*", route)
    return blocked


def test_docs_log_in_through_authorize_and_call_users_me_offline(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    username = unique("docs")
    rest.user(username)
    chat = open_page(service.base)
    blocked = _offline(chat, service.base)
    page = chat.page
    page.goto(f"{service.base}/docs")
    page.get_by_role("button", name="Authorize").first.click()
    page.locator("#oauth_username").fill(username)
    page.locator("#oauth_password").fill(PASSWORD)
    page.get_by_role("button", name="Apply given OAuth2 credentials").click()
    expect(page.locator(".auth-container h6", has_text="Authorized")).to_be_visible()
    page.locator(".auth-container button.btn-done").click()
    operation = page.locator("#operations-auth-me_api_v1_users_me_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(operation.locator(".live-responses-table .microlight").first).to_contain_text(username)
    page.wait_for_load_state("networkidle")
    assert blocked == []


def test_redoc_renders_offline(service: ServiceProcess, open_page: Callable[..., ChatPage]) -> None:
    chat = open_page(service.base)
    blocked = _offline(chat, service.base)
    chat.page.goto(f"{service.base}/redoc")
    expect(chat.page.get_by_text("/api/v1/users/me").first).to_be_attached()
    # The footer, whose logo ReDoc's bundle would fetch from its vendor's CDN, is drawn too.
    expect(chat.page.get_by_role("link", name="API docs by Redocly")).to_be_attached()
    chat.page.wait_for_load_state("networkidle")
    assert blocked == []
    # The policy stopped that logo in the browser, before any request: the one violation expected.
    assert [e for e in chat.errors if "cdn.redoc.ly" not in e] == []
    chat.errors.clear()
