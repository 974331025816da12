"""The browser client driven by Playwright in Debian's Chromium (never a downloaded browser)."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    ViewportSize,
    WebSocket,
    WebSocketRoute,
    expect,
    sync_playwright,
)
from websockets.sync.client import connect

from tests.conftest import PASSWORD, ServiceProcess, service_env

CHROMIUM = Path(os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
VIEWPORT: ViewportSize = {"width": 1000, "height": 640}

expect.set_options(timeout=10_000)

FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed  # open_page screenshots the tabs of a failed test
    return report


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        # Like PostgreSQL and Redis: skip on a developer machine, fail under CI.
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; the tests never download one)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI requires it")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One server for the tests that need no restart; each test makes its own users and rooms."""
    workdir = tmp_path_factory.mktemp("web")
    with ServiceProcess(service_env(f"sqlite+aiosqlite:///{workdir / 'chat.db'}"), workdir) as process:
        yield process


@pytest.fixture(scope="package")
def short_replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One server whose socket sends three messages on connect and replays at most three
    (CHAT_HISTORY_ON_CONNECT, CHAT_MAX_REPLAY), for the tests of paging and gaps; it takes
    files of 1000 bytes at most, and a socket may send as fast as it likes."""
    workdir = tmp_path_factory.mktemp("short-replay")
    env = service_env(
        f"sqlite+aiosqlite:///{workdir / 'chat.db'}",
        CHAT_MAX_REPLAY="3",
        CHAT_HISTORY_ON_CONNECT="3",
        CHAT_MAX_FILE_BYTES="1000",
        CHAT_RATE_PER_SECOND="10000",
        CHAT_RATE_BURST="10000",
    )
    with ServiceProcess(env, workdir) as process:
        yield process


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


class ChatPage:
    """One browser tab on the client, with the steps the tests repeat."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.socket_urls: list[str] = []
        self.sockets: list[WebSocket] = []
        self.sent: list[list[dict[str, Any]]] = []  # per socket opened, the JSON frames the page sent
        self.console: list[str] = []  # everything the page and the browser printed there
        self.received: list[str] = []  # frames the server sent, for the artifacts of a failed test
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", self._console)
        page.on("websocket", self._websocket)

    def _websocket(self, ws: WebSocket) -> None:
        self.socket_urls.append(ws.url)
        self.sockets.append(ws)
        frames: list[dict[str, Any]] = []
        self.sent.append(frames)
        ws.on("framesent", lambda payload: frames.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: self.received.append(str(payload)))

    def subscribes(self) -> list[list[dict[str, Any]]]:
        """Per socket, the rooms its subscribe frames asked for ({"room", "since"} each)."""
        return [[r for f in frames if f["type"] == "subscribe" for r in f["rooms"]] for frames in self.sent]

    def reads(self, room_id: int) -> list[int]:
        """The seqs of the read frames the page sent for the room, on any of its sockets."""
        return [f["seq"] for frames in self.sent for f in frames if f["type"] == "read" and f.get("room") == room_id]

    def wait_for_read(self, room_id: int, seq: int) -> None:
        """Until the page has reported the room read up to `seq` (or further)."""
        if any(sent >= seq for sent in self.reads(room_id)):
            return

        def reported(payload: str | bytes) -> bool:
            frame = json.loads(payload)
            return bool(frame["type"] == "read" and frame.get("room") == room_id and frame["seq"] >= seq)

        self.sockets[-1].wait_for_event("framesent", predicate=reported, timeout=10_000)

    def _console(self, message: ConsoleMessage) -> None:
        self.console.append(message.text)
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def goto(self) -> None:
        self.page.goto(f"{self.base}/")

    def sign_up(self, username: str) -> None:
        self.goto()
        self.page.get_by_label("Username", exact=True).fill(username)
        self.page.get_by_label("Password", exact=True).fill(PASSWORD)
        self.page.get_by_role("button", name="Create account").click()
        expect(self.page.locator("#view-rooms")).to_be_visible()

    def log_in(self, username: str) -> None:
        self.goto()
        self.page.get_by_label("Username", exact=True).fill(username)
        self.page.get_by_label("Password", exact=True).fill(PASSWORD)
        self.page.get_by_label("Password", exact=True).press("Enter")
        expect(self.page.locator("#view-rooms")).to_be_visible()

    def create_room(self, name: str, description: str = "", *, private: bool = False) -> None:
        if self.page.locator("#view-home").is_hidden():
            self.page.get_by_role("button", name="+ New room").click()
        self.page.get_by_label("Name", exact=True).fill(name)
        if description:
            self.page.get_by_label("Description (optional)", exact=True).fill(description)
        if private:
            self.page.get_by_label("Private (members only)").check()
        self.page.get_by_role("button", name="Create room").click()
        self.wait_live()

    def open_room(self, name: str, *, join: bool = True) -> None:
        """Through the sidebar (refreshed first: public rooms of others arrive by no event);
        a public room the user is not in is joined, unless `join` is false."""
        self.refresh_rooms()
        self.room_button(name).click()
        self.wait_live()
        expect(self.page.locator("#room-title")).to_have_text(name)
        if join and self.public_room_button(name).count():
            self.page.get_by_role("button", name="Join room").click()
            expect(self.my_room_button(name)).to_have_count(1)
            expect(self.page.get_by_label("Message", exact=True)).to_be_visible()

    def refresh_rooms(self) -> None:
        """Both lists asked again, and answered: which list a room is in is settled."""
        self.page.get_by_role("button", name="Refresh").click()
        expect(self.page.locator("#view-rooms")).to_have_attribute("aria-busy", "false")

    def room_button(self, name: str) -> Any:
        """The room's entry in the sidebar: among the user's rooms or the public ones to join."""
        return self.page.locator("#view-rooms button.room-open").filter(
            has=self.page.locator(".room-name").get_by_text(name, exact=True)
        )

    def my_room_button(self, name: str) -> Any:
        return self.page.locator("#room-list button.room-open").filter(
            has=self.page.locator(".room-name").get_by_text(name, exact=True)
        )

    def public_room_button(self, name: str) -> Any:
        return self.page.locator("#public-list button.room-open").filter(
            has=self.page.locator(".room-name").get_by_text(name, exact=True)
        )

    def badge(self, name: str) -> Any:
        """The unread count on the room's entry in the sidebar (absent when nothing is unread)."""
        return self.room_button(name).locator(".unread")

    def message(self, body: str) -> Any:
        """The shown message (of the room's stream) whose body is exactly this."""
        return self.messages.filter(has=self.page.locator(".body").get_by_text(body, exact=True))

    def wait_live(self, timeout: float = 10_000) -> None:
        expect(self.page.locator("#view-room")).to_be_visible()
        expect(self.connection).to_have_attribute("data-state", "live", timeout=timeout)

    def send(self, body: str) -> None:
        self.page.get_by_label("Message", exact=True).fill(body)
        self.page.get_by_label("Message", exact=True).press("Enter")

    @property
    def connection(self) -> Any:
        return self.page.locator("#connection")

    @property
    def messages(self) -> Any:
        """Shown messages of the room's stream (pending sends have no seq yet)."""
        return self.page.locator("#messages li[data-seq]")

    @property
    def online(self) -> Any:
        return self.page.locator("#online li")

    def seqs(self) -> list[int]:
        return self.messages.evaluate_all("items => items.map(item => Number(item.dataset.seq))")

    def bodies(self) -> list[str]:
        return self.messages.locator(".body").all_inner_texts()

    def access_token(self) -> str:
        return self.page.evaluate("JSON.parse(sessionStorage.getItem('chat.session')).access_token")


@pytest.fixture
def open_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., ChatPage]]:
    """New tabs, each in its own context (own sessionStorage: one user per tab)."""
    opened: list[ChatPage] = []

    def open_(base: str, **context_options: Any) -> ChatPage:
        context = browser.new_context(**{"viewport": VIEWPORT, **context_options})
        chat = ChatPage(context.new_page(), base)
        opened.append(chat)
        return chat

    yield open_
    failed = request.node.stash.get(FAILED, True)
    for index, chat in enumerate(opened):
        if failed and not chat.page.is_closed():
            ARTIFACTS.mkdir(exist_ok=True)
            chat.page.screenshot(path=ARTIFACTS / f"{request.node.name}-failed-{index}.png")
            # What the page printed and threw, and the frames it sent: enough to tell a race.
            sent = [json.dumps(frame) for frames in chat.sent for frame in frames]
            lines = [*chat.errors, *chat.console, "--- sent", *sent, "--- received", *chat.received]
            (ARTIFACTS / f"{request.node.name}-failed-{index}.txt").write_text("\n".join(lines))
        chat.page.context.close()
    if not failed:
        assert [error for chat in opened for error in chat.errors] == []


class Rest:
    """Set-up and out-of-band actions over plain HTTP."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=f"{base}/api/v1", timeout=10)

    def user(self, username: str) -> str:
        r = self.http.post("/auth/register", json={"username": username, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = self.http.post("/auth/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def call(self, method: str, path: str, token: str, expected: int, **kwargs: Any) -> Any:
        r = self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        assert r.status_code == expected, r.text
        return r.json() if r.content else None

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def rest(service: ServiceProcess) -> Iterator[Rest]:
    client = Rest(service.base)
    yield client
    client.close()


def send_over_websocket(base: str, token: str, room_id: int, bodies: list[str], thread_seq: int | None = None) -> None:
    """Another client, outside the browser, sends (replies in the thread of `thread_seq`, if
    given) and waits for its echoes."""
    url = f"{base.replace('http', 'ws', 1)}/ws/rooms/{room_id}?token={token}&since=0"
    with connect(url, open_timeout=10) as ws:
        while json.loads(ws.recv(timeout=10))["type"] != "synced":
            pass
        batch = uuid.uuid4().hex[:8]  # ids unique across calls: a repeated one is a resend, stored once
        for index, body in enumerate(bodies):
            frame = {"type": "message", "body": body, "client_msg_id": f"py-{batch}-{index}"}
            ws.send(json.dumps(frame if thread_seq is None else {**frame, "thread_seq": thread_seq}))
        echoed = 0
        while echoed < len(bodies):
            frame = json.loads(ws.recv(timeout=10))
            echoed += frame["type"] == "message" and frame["client_msg_id"] is not None


class SocketGate:
    """The page's socket to /ws routed through Playwright, so a test can close it with
    any code and hold the next connection back while it changes a room."""

    def __init__(self, page: Page) -> None:
        self.page_sides: list[WebSocketRoute] = []
        self.server_sides: list[WebSocketRoute | None] = []
        self.hold = False
        self.held: WebSocketRoute | None = None
        self.page = page
        page.route_web_socket(re.compile(r"/ws$"), self._route)
        # Routed sockets fire no "websocket" event; count them in the page instead
        # (after routing, so this wraps Playwright's stand-in, which then wraps the real one),
        # and keep the frames each one sent.
        page.add_init_script(
            "window.__sockets = 0; window.__offers = []; window.__sent = []; const Native = WebSocket;"
            "window.WebSocket = class extends Native {"
            " constructor(...args) { super(...args); window.__sockets += 1; window.__offers.push(args[1] || []);"
            "  this.__sent = []; window.__sent.push(this.__sent); }"
            " send(data) { this.__sent.push(String(data)); return super.send(data); } };"
        )

    def subscribes(self) -> list[list[dict[str, Any]]]:
        """Per socket, the rooms its subscribe frames asked for ({"room", "since"} each)."""
        sent: list[list[str]] = self.page.evaluate("window.__sent")
        frames = [[json.loads(data) for data in socket] for socket in sent]
        return [[r for f in socket if f["type"] == "subscribe" for r in f["rooms"]] for socket in frames]

    @property
    def urls(self) -> list[str]:
        return [route.url for route in self.page_sides]

    @property
    def offers(self) -> list[list[str]]:
        """The subprotocols each socket offered (the token travels as one)."""
        offers: list[list[str]] = self.page.evaluate("window.__offers")
        return offers

    def _route(self, route: WebSocketRoute) -> None:
        self.page_sides.append(route)
        self.server_sides.append(None if self.hold else route.connect_to_server())
        self.held = route if self.hold else None

    def close_latest(self, code: int, reason: str = "") -> None:
        server = self.server_sides[-1]
        if server is not None:
            server.close()
        self.page_sides[-1].close(code=code, reason=reason)

    def wait_for_connections(self, count: int) -> None:
        self.page.wait_for_function("count => window.__sockets >= count", arg=count)

    def release(self) -> None:
        """Connect the held connection to the server (or the next one, if not routed yet)."""
        self.hold = False
        if self.held is not None:
            self.server_sides[self.page_sides.index(self.held)] = self.held.connect_to_server()
            self.held = None


class TwoInARoom:
    """Ann owns a room that Bob has joined; both have it open in their own tab. With
    `gated`, Bob's socket goes through a SocketGate, to be closed and held back."""

    def __init__(
        self, service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage], *, gated: bool = False
    ) -> None:
        self.ann_name, self.bob_name, self.name = unique("ann"), unique("bob"), unique("room")
        self.ann_token, self.bob_token = rest.user(self.ann_name), rest.user(self.bob_name)
        self.room_id: int = rest.call("POST", "/rooms", self.ann_token, 201, json={"name": self.name})["id"]
        rest.call("POST", f"/rooms/{self.room_id}/join", self.bob_token, 204)
        self.ann, self.bob = open_page(service.base), open_page(service.base)
        self.gate = SocketGate(self.bob.page) if gated else None
        self.sockets = 1  # Bob's sockets so far
        self.ann.log_in(self.ann_name)
        self.bob.log_in(self.bob_name)
        self.ann.open_room(self.name)
        self.bob.open_room(self.name)

    def away(self) -> None:
        """Bob's socket closes (1012) and his next one is held until `back`."""
        assert self.gate is not None
        self.gate.hold = True
        self.gate.close_latest(1012)
        self.sockets += 1
        expect(self.bob.connection).to_contain_text("reconnecting")

    def back(self) -> None:
        assert self.gate is not None
        self.gate.wait_for_connections(self.sockets)
        self.gate.release()
        self.bob.wait_live()
