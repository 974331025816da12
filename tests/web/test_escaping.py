"""User content is text, never markup: with the page's CSP switched off, nothing runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, unique

pytestmark = pytest.mark.slow

PAYLOADS = [
    "<img src=x onerror=window.__xss=1>",
    "<script>window.__xss=2</script>",
    '"><svg onload=window.__xss=3>',
    "<iframe srcdoc='<script>parent.__xss=4</script>'></iframe>",
    "&lt;b&gt;entities stay as typed&lt;/b&gt;",
]


def test_markup_in_room_names_and_messages_is_shown_as_text(
    service: ServiceProcess, open_page: Callable[..., ChatPage]
) -> None:
    # Only escaping is under test here: the CSP would block inline handlers on its own.
    page = open_page(service.base, bypass_csp=True)
    response = page.page.goto(f"{service.base}/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    room = f"<img src=x onerror=window.__xss=5>{unique('r')}"
    page.sign_up(unique("mallory"))
    page.create_room(room, "<b onmouseover=window.__xss=6>description</b>")
    expect(page.page.locator("#room-title")).to_have_text(room)
    expect(page.page.locator("#room-info")).to_contain_text("<b onmouseover=window.__xss=6>description</b>")
    for body in PAYLOADS:
        page.send(body)
    expect(page.messages.locator(".body")).to_have_text(PAYLOADS)

    # The sidebar shows the name literally too.
    expect(page.page.locator("#room-list .room-name").get_by_text(room, exact=True)).to_be_visible()
    assert page.page.evaluate("window.__xss") is None
    assert page.page.locator("main img, main script, main svg, main iframe, main b").count() == 0
