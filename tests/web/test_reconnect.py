"""A server restart under open pages: reconnect with since, nothing lost or shown twice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess, service_env
from tests.web.conftest import ChatPage, Rest, send_over_websocket, unique

pytestmark = pytest.mark.slow

RECONNECT_MS = 30_000


def test_server_restart_reconnects_with_since_and_shows_every_message_once(
    tmp_path: Path, open_page: Callable[..., ChatPage]
) -> None:
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    room = unique("restart")
    with ServiceProcess(env, tmp_path) as first:
        alice, bob = open_page(first.base), open_page(first.base)
        alice.sign_up(unique("alice"))
        alice.create_room(room)
        bob.sign_up(unique("bob"))
        bob.open_room(room)
        for body in ("one", "two", "three"):
            alice.send(body)
        expect(bob.messages).to_have_count(3)
        rest = Rest(first.base)
        carol = rest.user(unique("carol"))
        room_id = next(r["id"] for r in rest.call("GET", "/rooms?limit=200", carol, 200)["items"] if r["name"] == room)
        rest.close()
        first.stop()

    for page in (alice, bob):
        expect(page.connection).to_contain_text("reconnecting")
    # Sent while the server is down: pending until the echo after the reconnect.
    bob.send("four, sent while offline")
    expect(bob.page.locator("#pending li .body")).to_have_text(["four, sent while offline"])
    expect(bob.page.locator("#pending li .state")).to_have_text(["sending…"])

    with ServiceProcess(env, tmp_path, port=first.port) as second:
        alice.wait_live(RECONNECT_MS)
        bob.wait_live(RECONNECT_MS)
        expect(bob.page.locator("#pending li")).to_have_count(0)
        expect(alice.messages).to_have_count(4)
        alice.send("five")
        expect(bob.messages).to_have_count(5)
        send_over_websocket(second.base, carol, room_id, ["six", "seven"])
        bob.send("eight")
        for page in (alice, bob):
            expect(page.messages).to_have_count(8)
            assert page.seqs() == list(range(1, 9))
            assert page.bodies() == ["one", "two", "three", "four, sent while offline", "five", "six", "seven", "eight"]

    # One socket to /ws at a time; after the restart it asked only for what the page had not seen.
    assert len(bob.socket_urls) >= 2
    assert all(url.endswith("/ws") for url in bob.socket_urls), bob.socket_urls
    asked = [[r["since"] for r in rooms if r["room"] == room_id] for rooms in bob.subscribes() if rooms]
    assert asked == [[None], [3]], asked
