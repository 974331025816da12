"""Helpers for threads and mentions (docs/stream-entries.md) against a live server: replies,
thread markers, and the caller's threads and mentions."""

from __future__ import annotations

import uuid

import httpx

from tests.realtime.conftest import LiveServer, auth
from tests.streams import Frame, replayed


async def reply(server: LiveServer, token: str, room_id: int, root_seq: int, *bodies: str) -> list[Frame]:
    """Send each body as a reply in the thread on a fresh per-room socket, each after
    the echo of the one before; the echoes."""
    client = await server.connect(room_id, token)
    await replayed(client)
    tag = uuid.uuid4().hex[:8]
    echoes: list[Frame] = []
    for i, body in enumerate(bodies):
        client_msg_id = f"{tag}-{i}"
        await client.send({"type": "message", "body": body, "client_msg_id": client_msg_id, "thread_seq": root_seq})
        while True:
            frame = await client.recv()
            assert frame["type"] != "error", frame
            if frame["type"] == "message" and frame["client_msg_id"] == client_msg_id:
                echoes.append(frame)
                break
    await client.close()
    return echoes


async def read_thread(server: LiveServer, token: str, room_id: int, root_seq: int, seq: object) -> httpx.Response:
    return await server.http.post(f"/rooms/{room_id}/threads/{root_seq}/read", json={"seq": seq}, headers=auth(token))


async def threads_page(server: LiveServer, token: str, **params: object) -> Frame:
    r = await server.http.get("/users/me/threads", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    page: Frame = r.json()
    assert set(page) == {"items", "has_more", "next_before"}, page
    return page


async def my_threads(server: LiveServer, token: str) -> list[Frame]:
    """Every thread the caller follows, first to last, page after page."""
    items: list[Frame] = []
    params: dict[str, object] = {"limit": 100}
    while True:
        page = await threads_page(server, token, **params)
        items += page["items"]
        if not page["has_more"]:
            return items
        params["before"] = page["next_before"]


async def thread_state(server: LiveServer, token: str, room_id: int, root_seq: int) -> tuple[int, int, int] | None:
    """(last_read_seq, unread, mentions) of the caller in the thread; None when not listed."""
    for item in await my_threads(server, token):
        if (item["room_id"], item["root"]["seq"]) == (room_id, root_seq):
            return item["last_read_seq"], item["unread"], item["mentions"]
    return None


async def mentions_page(server: LiveServer, token: str, **params: object) -> Frame:
    r = await server.http.get("/users/me/mentions", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    page: Frame = r.json()
    assert set(page) == {"items", "has_more"}, page
    return page


async def room_counts(server: LiveServer, token: str, room_id: int) -> tuple[int, int, int] | None:
    """(last_read_seq, unread, mentions) of the caller in the room; None when not listed."""
    r = await server.http.get("/users/me/rooms", headers=auth(token))
    assert r.status_code == 200, r.text
    for item in r.json()["items"]:
        if item["room"]["id"] == room_id:
            return item["last_read_seq"], item["unread"], item["mentions"]
    return None
