"""Gaps the page must fill without losing or repeating a message."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, SocketGate, send_over_websocket, unique

pytestmark = pytest.mark.slow


def test_truncated_replay_and_older_history_are_paged_over_rest(
    short_replay: ServiceProcess, open_page: Callable[..., ChatPage]
) -> None:
    service = short_replay
    chat = open_page(service.base)
    gate = SocketGate(chat.page)
    username, room = unique("gina"), unique("gap")
    chat.sign_up(username)
    chat.create_room(room)
    chat.send("one")
    chat.send("two")
    expect(chat.messages).to_have_count(2)

    # Closed, and the reconnect held back while seven messages are stored.
    gate.hold = True
    gate.close_latest(1012)
    expect(chat.connection).to_contain_text("reconnecting")
    rest = Rest(service.base)
    token = rest.user(unique("carl"))
    room_id = next(r["id"] for r in rest.call("GET", "/rooms", token, 200)["items"] if r["name"] == room)
    rest.close()
    send_over_websocket(service.base, token, room_id, [f"missed {n}" for n in range(3, 10)])
    gate.wait_for_connections(2)

    # The replay holds the newest three (7–9); the page asks the stream for what follows 2.
    with chat.page.expect_response("**/events?after_seq=2*") as paged:
        gate.release()
    assert [m["seq"] for m in paged.value.json()["items"]][:4] == [3, 4, 5, 6]
    chat.wait_live()
    expect(chat.messages).to_have_count(9)
    assert chat.seqs() == list(range(1, 10))
    assert gate.subscribes()[1] == [{"room": room_id, "since": 2}]

    # A new tab gets the newest three on connect and the older ones on request.
    late = open_page(service.base)
    late.log_in(username)
    late.open_room(room)
    expect(late.messages).to_have_count(3)
    assert late.seqs() == [7, 8, 9]
    late.page.get_by_role("button", name="Load older messages").click()
    expect(late.messages).to_have_count(9)
    assert late.seqs() == list(range(1, 10))
    expect(late.page.get_by_role("button", name="Load older messages")).to_be_hidden()


def test_token_expired_close_refreshes_then_reconnects_with_since(
    service: ServiceProcess, open_page: Callable[..., ChatPage]
) -> None:
    chat = open_page(service.base)
    gate = SocketGate(chat.page)
    chat.sign_up(unique("tess"))
    chat.create_room(unique("expiry"))
    chat.send("before")
    expect(chat.messages).to_have_count(1)
    old = chat.access_token()

    with chat.page.expect_response("**/api/v1/auth/refresh") as refreshed:
        gate.close_latest(1008, "token expired")
    assert refreshed.value.status == 200
    chat.wait_live()
    assert chat.access_token() != old
    assert f"chat.token.{chat.access_token()}" in gate.offers[1]
    room_id = int(chat.page.evaluate("location.hash").rsplit("/", 1)[1])
    assert {"room": room_id, "since": 1} in gate.subscribes()[1]
    chat.send("after")
    expect(chat.messages.locator(".body")).to_have_text(["before", "after"])
