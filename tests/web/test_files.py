"""Files in the browser: attached with the button, by paste or by a drop, uploaded with their
progress, removable, sent with or without text; shown to the other user as a thumbnail that
opens full size, or as a chip that downloads, every byte fetched with the token in a header."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Route, expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, TwoInARoom, unique

pytestmark = pytest.mark.slow

PDF = b"%PDF-1.4\n% a few bytes of a plan\n%%EOF\n"


def png(width: int, height: int) -> bytes:
    """Red on the left half, blue on the right."""
    image = Image.new("RGB", (width, height), (220, 0, 0))
    image.paste((0, 0, 220), (width // 2, 0, width, height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def payload(name: str, mime: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def attach(chat: ChatPage, *files: dict[str, Any]) -> None:
    """Through the Attach button and the file chooser it opens."""
    with chat.page.expect_file_chooser() as chooser:
        chat.page.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(list(files))


def dispatch_files(chat: ChatPage, how: str, name: str, mime: str, data: bytes) -> None:
    """A paste into the message, or a drop on the room, carrying one file."""
    chat.page.evaluate(
        """([how, name, mime, bytes]) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([new Uint8Array(bytes)], name, { type: mime }));
          if (how === "paste") {
            const event = new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true });
            document.getElementById("message-input").dispatchEvent(event);
          } else {
            const target = document.getElementById("log");
            for (const type of ["dragenter", "dragover", "drop"]) {
              target.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
            }
          }
        }""",
        [how, name, mime, list(data)],
    )


def canvas_size(locator: Any) -> list[int]:
    return locator.evaluate("canvas => [canvas.width, canvas.height]")


def pixel(locator: Any, x: int, y: int) -> list[int]:
    return locator.evaluate(
        "(canvas, [x, y]) => Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data)", [x, y]
    )


def test_an_image_and_a_pdf_shared_in_a_private_room_are_seen_opened_and_downloaded_and_404_for_an_outsider(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    alice_name, bob_name, carol_name, room = unique("alice"), unique("bob"), unique("carol"), unique("private")
    alice_token, carol_token = rest.user(alice_name), rest.user(carol_name)
    rest.user(bob_name)
    room_id = rest.call("POST", "/rooms", alice_token, 201, json={"name": room, "private": True})["id"]
    rest.call("POST", f"/rooms/{room_id}/members", alice_token, 201, json={"username": bob_name})
    alice, bob = open_page(service.base), open_page(service.base)
    urls: list[str] = []
    for chat in (alice, bob):
        chat.page.on("request", lambda request: urls.append(request.url))
    alice.log_in(alice_name)
    bob.log_in(bob_name)
    alice.open_room(room)
    bob.open_room(room)

    # Alice attaches a 600 × 300 PNG and a PDF with the button; both upload, then she sends.
    image = png(600, 300)
    attach(alice, payload("chart.png", "image/png", image), payload("plan.pdf", "application/pdf", PDF))
    uploads = alice.page.locator("#attachments li")
    expect(uploads.locator(".file-name")).to_have_text(["chart.png", "plan.pdf"])
    expect(uploads.locator(".attachment-state")).to_have_text(["uploaded", "uploaded"])
    expect(alice.page.locator("#send")).to_be_enabled()
    alice.send("the chart and the plan")
    expect(uploads).to_have_count(0)

    # Bob sees the image as a thumbnail (the server's, 400 px wide) and the PDF as a chip.
    message = bob.message("the chart and the plan")
    thumbnail = message.locator("canvas.thumbnail")
    expect(thumbnail).to_have_attribute("data-state", "shown")
    assert canvas_size(thumbnail) == [400, 200]
    chip = message.locator(".file-chip")
    expect(chip.locator(".file-name")).to_have_text("plan.pdf")
    expect(chip.locator(".file-size")).to_have_text(f"{len(PDF)} B")

    # He opens the image at full size, its own pixels, and closes it with Escape.
    opener = message.get_by_role("button", name=re.compile(r"^Open chart\.png"))
    opener.click()
    overlay = bob.page.get_by_role("dialog", name="chart.png")
    expect(overlay).to_be_visible()
    full = bob.page.locator("#image-view-canvas")
    expect(full).to_have_attribute("data-state", "shown")
    assert canvas_size(full) == [600, 300]
    assert pixel(full, 10, 150)[:3] == [220, 0, 0]
    assert pixel(full, 590, 150)[:3] == [0, 0, 220]
    expect(overlay.get_by_role("button", name="Close")).to_be_focused()
    bob.page.keyboard.press("Tab")
    expect(overlay.get_by_role("button", name="Download")).to_be_focused()
    bob.page.keyboard.press("Tab")
    expect(overlay.get_by_role("button", name="Close")).to_be_focused()
    bob.page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()
    expect(opener).to_be_focused()

    # He downloads the PDF: the same bytes, under its name.
    with bob.page.expect_download() as download:
        chip.get_by_role("button", name="Download plan.pdf").click()
    assert download.value.suggested_filename == "plan.pdf"
    assert Path(download.value.path()).read_bytes() == PDF

    # Carol, outside the private room, gets 404 for both; the token never went in a URL.
    page = rest.call("GET", f"/rooms/{room_id}/messages", alice_token, 200)
    (sent,) = [m for m in page["items"] if m["body"] == "the chart and the plan"]
    files = {file["filename"]: file for file in sent["files"]}
    for url in (files["chart.png"]["url"], files["chart.png"]["thumbnail_url"], files["plan.pdf"]["url"]):
        r = rest.http.get(url.removeprefix("/api/v1"), headers={"Authorization": f"Bearer {carol_token}"})
        assert r.status_code == 404, (url, r.status_code)
    tokens = [alice.access_token(), bob.access_token()]
    assert not [url for url in urls if any(token in url for token in tokens)]


def test_files_pasted_or_dropped_are_sent_without_text_and_shown_to_the_other(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob

    # A file pasted into the message goes alone: an empty body. Its name is text, never markup.
    name = "<img src=x onerror=alert(1)>notes.txt"
    dispatch_files(ann, "paste", name, "text/plain", b"remember the milk\n")
    expect(ann.page.locator("#attachments .attachment-state")).to_have_text(["uploaded"])
    ann.page.get_by_label("Message", exact=True).press("Enter")
    expect(bob.messages).to_have_count(1)
    only = bob.messages.first
    expect(only.locator(".file-chip .file-name")).to_have_text(name)
    expect(only.locator(".body")).to_have_count(0)
    expect(bob.page.locator("img, iframe, object, embed")).to_have_count(0)

    # An image dropped on the room, with a line of text.
    dispatch_files(ann, "drop", "dot.png", "image/png", png(40, 20))
    expect(ann.page.locator("#attachments .attachment-state")).to_have_text(["uploaded"])
    ann.send("a dot")
    thumbnail = bob.message("a dot").locator("canvas.thumbnail")
    expect(thumbnail).to_have_attribute("data-state", "shown")
    assert canvas_size(thumbnail) == [40, 20]
    expect(ann.message("a dot").locator("canvas.thumbnail")).to_have_attribute("data-state", "shown")

    # Deleted, the message shows none of its files, and their bytes are gone.
    seq = int(ann.message("a dot").get_attribute("data-seq") or 0)
    history = rest.call("GET", f"/rooms/{two.room_id}/messages", two.ann_token, 200)["items"]
    (dot,) = [m["files"][0] for m in history if m["seq"] == seq]
    ann.message("a dot").get_by_role("button", name="Delete").click()
    ann.page.get_by_role("button", name="Yes, delete").click()
    for chat in (ann, bob):
        expect(chat.messages.locator(".body")).to_have_text(["message deleted"])
        expect(chat.messages.last.locator(".files")).to_have_count(0)
    for url in (dot["url"], dot["thumbnail_url"]):
        rest.call("GET", url.removeprefix("/api/v1"), two.bob_token, 404)


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


def test_a_file_over_the_servers_limit_is_refused_with_its_reason(
    short_replay: ServiceProcess, open_page: Callable[..., ChatPage]
) -> None:
    small = short_replay  # takes files of 1000 bytes at most
    chat = open_page(small.base)
    chat.sign_up(unique("uma"))
    chat.create_room(unique("small"))
    big = b"z" * 300_000
    # The server's own words, as it answers any client.
    r = httpx.post(
        f"{small.base}/api/v1/files",
        headers={"Authorization": f"Bearer {chat.access_token()}"},
        files={"file": ("big.bin", big)},
    )
    assert r.status_code == 413, r.text
    attach(chat, payload("big.bin", "application/octet-stream", big))
    state = chat.page.locator("#attachments .attachment-state")
    expect(state).to_have_text([f"not uploaded: {r.json()['detail']}"])
    expect(chat.page.locator("#send")).to_be_disabled()
