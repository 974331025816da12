"""Nothing the page or the browser prints in the console holds the access token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess, service_env
from tests.web.conftest import ChatPage, unique

pytestmark = pytest.mark.slow

FAILED_SOCKET = "WebSocket connection to"  # how Chromium reports a socket that failed to connect


def test_failed_connections_never_print_the_token(tmp_path: Path, open_page: Callable[..., ChatPage]) -> None:
    with ServiceProcess(service_env(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"), tmp_path) as service:
        page = open_page(service.base)
        page.sign_up(unique("alice"))
        page.create_room(unique("quiet"))
        page.wait_live()
        token = page.access_token()
        service.stop()
    expect(page.connection).to_contain_text("reconnecting")
    if not any(FAILED_SOCKET in line for line in page.console):
        page.page.wait_for_event("console", lambda message: FAILED_SOCKET in message.text, timeout=30_000)
    signature = token.rsplit(".", 1)[1]
    leaks = [line for line in page.console if token in line or signature in line or "token=" in line]
    assert leaks == [], leaks
