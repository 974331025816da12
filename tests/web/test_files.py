"""Files in the browser: attached with the button, by paste or by a drop, uploaded with their
progress, removable, sent with or without text; shown to the other user as a thumbnail that
opens full size, or as a chip that downloads, every byte fetched with the token in a header."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Route, expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, unique

pytestmark = pytest.mark.slow


def payload(name: str, mime: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def attach(chat: ChatPage, *files: dict[str, Any]) -> None:
    """Through the Attach button and the file chooser it opens."""
    with chat.page.expect_file_chooser() as chooser:
        chat.page.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(list(files))


def refuse(status: int, detail: str, headers: dict[str, str] | None = None) -> Callable[[Route], None]:
    def handler(route: Route) -> None:
        route.fulfill(status=status, json={"detail": detail}, headers=headers or {})

    return handler


def test_a_refused_upload_says_why_holds_the_send_back_until_removed_and_ten_files_at_most(
    service: ServiceProcess, open_page: Callable[..., ChatPage]
) -> None:
    chat = open_page(service.base)
    chat.sign_up(unique("uma"))
    chat.create_room(unique("uploads"))
    uploads = chat.page.locator("#attachments li")
    send = chat.page.locator("#send")

    chat.page.route("**/api/v1/files", refuse(413, "the file is over 25 MiB"))
    attach(chat, payload("huge.bin", "application/octet-stream", b"x" * 2000))
    expect(uploads.locator(".attachment-state")).to_have_text(["not uploaded: the file is over 25 MiB"])
    expect(send).to_be_disabled()
    chat.page.get_by_role("button", name="Remove huge.bin").click()
    expect(uploads).to_have_count(0)
    expect(send).to_be_enabled()

    chat.page.unroute("**/api/v1/files")
    chat.page.route("**/api/v1/files", refuse(429, "too many uploads", {"Retry-After": "7"}))
    attach(chat, payload("again.bin", "application/octet-stream", b"y" * 10))
    expect(uploads.locator(".attachment-state")).to_have_text(["not uploaded: too many uploads: try again in 7 s"])
    chat.page.get_by_role("button", name="Remove again.bin").click()

    # Eleven chosen at once: ten upload (to the real server), the last is refused with a note.
    chat.page.unroute("**/api/v1/files")
    attach(chat, *[payload(f"f{i}.txt", "text/plain", f"file {i}".encode()) for i in range(11)])
    expect(uploads).to_have_count(10)
    expect(chat.page.locator("#attachments-note")).to_have_text("At most 10 files a message: 1 not added.")
    expect(uploads.locator(".attachment-state")).to_have_text(["uploaded"] * 10)
    expect(uploads.locator("progress")).to_have_count(10)
    assert uploads.locator("progress").evaluate_all("bars => bars.map(bar => bar.value)") == [1] * 10
    expect(send).to_be_enabled()
