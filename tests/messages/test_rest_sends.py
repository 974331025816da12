"""SPEC 2, POST /rooms/{id}/messages: checked as a socket's message frame, limited per
user (429 with Retry-After), 503 `unavailable` when the store fails, nothing stored on refusal."""

from __future__ import annotations

import asyncio

import pytest

from tests.realtime.conftest import LiveServer, ServerFactory, auth
from tests.streams import last_seq, next_entry, replayed, send


async def test_a_rest_send_is_echoed_to_sockets_and_refusals_store_nothing(
    make_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server: LiveServer = await make_server(rate_per_second=1, rate_burst=3, max_message_chars=10)
    _, alice_token = await server.user("alice")
    _, bob_token = await server.user("bob")
    room = (await server.room(alice_token, "general"))["id"]
    secret = (await server.room(alice_token, "secret", private=True))["id"]
    watcher = await server.connect(room, bob_token)
    await replayed(watcher)

    r = await send(server, alice_token, room, "hello", client_msg_id="h1")
    assert r.status_code == 201, r.text
    assert await next_entry(watcher) == {"type": "message", **r.json()}
    for body, fields in (
        (" \u200b ", {}),  # blank
        ("x" * 11, {}),  # longer than CHAT_MAX_MESSAGE_CHARS
        ("ok", {"thread_seq": "1"}),
        ("ok", {"thread_seq": 0}),
        ("ok", {"client_msg_id": ""}),
        ("ok", {"files": "1"}),  # a list of file ids
    ):
        assert (await send(server, alice_token, room, body, **fields)).status_code == 422, (body, fields)
    assert (await send(server, bob_token, secret, "let me in")).status_code == 404

    def broken(*args: object, **kwargs: object) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(OSError("disk on fire"))
        return future

    monkeypatch.setattr(server.state.writer, "submit", broken)
    r = await send(server, alice_token, room, "lost?", client_msg_id="u1")
    assert r.status_code == 503 and r.json()["detail"]["code"] == "unavailable"
    assert r.headers["Retry-After"] == "1"
    monkeypatch.undo()
    assert (await send(server, alice_token, room, "again", client_msg_id="u1")).status_code == 201
    # Three in a row (the burst), then the rate: 429, with Retry-After; the others still send.
    r = await send(server, alice_token, room, "too fast")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1, r.text
    assert (await send(server, bob_token, room, "bob's")).status_code == 201
    assert await last_seq(server, alice_token, room) == 3
    r = await server.http.get(f"/rooms/{room}/messages", headers=auth(bob_token))
    assert [m["body"] for m in r.json()["items"]] == ["hello", "again", "bob's"]
