from __future__ import annotations

import re

from service.db import create_engine
from tests.realtime.conftest import LiveServer


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    assert match, f"{name} not in metrics"
    return float(match.group(1))


async def test_healthz_and_readyz(server: LiveServer) -> None:
    assert (await server.http.get(f"{server.base}/healthz")).json() == {"status": "ok"}
    r = await server.http.get(f"{server.base}/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_is_503_with_a_reason_when_the_database_is_gone(server: LiveServer) -> None:
    state = server.app.state
    working = state.read_engine
    state.read_engine = create_engine("sqlite+aiosqlite:////nonexistent/dir/chat.db")
    try:
        r = await server.http.get(f"{server.base}/readyz")
    finally:
        await state.read_engine.dispose()
        state.read_engine = working
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable" and "database" in r.json()["detail"]


async def test_metrics_count_what_happened(server: LiveServer) -> None:
    _, token = await server.user("alice")
    room = await server.room(token, "general")
    clients = [await server.connect(room["id"], token) for _ in range(3)]
    for c in clients:
        await c.handshake()
    for i in range(4):
        await clients[0].message(f"m{i}")
    for c in clients:
        await c.messages(4)
    late = await server.connect(room["id"], token, since=1)
    await late.handshake()
    text = (await server.http.get(f"{server.base}/metrics")).text
    assert _value(text, "chat_ws_connections") == 4
    assert _value(text, "chat_messages_stored_total") == 4
    assert _value(text, "chat_frames_delivered_total") == 12
    assert _value(text, "chat_replay_messages_count") == 4
    assert _value(text, "chat_replay_messages_sum") == 3
    assert _value(text, "chat_store_seconds_count") == 4
    assert _value(text, "chat_fanout_seconds_count") == 4
    assert _value(text, "chat_slow_consumer_closes_total") == 0
