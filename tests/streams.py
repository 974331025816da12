"""Helpers for a room's stream (docs/protocol.md, docs/stream-entries.md): edits, deletes, replies, reactions, pins,
events, read markers, against a live server (tests/realtime/conftest.py) and its clients."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx

from service.auth.service import create_user
from tests.conftest import PASSWORD
from tests.realtime.conftest import Client, LiveServer, auth
from tests.realtime.mux import Mux

Frame = dict[str, Any]
STREAM = {"message", "edit", "delete", "reaction", "pin"}


async def replayed(client: Client) -> tuple[Frame, list[Frame], Frame]:
    """A per-room socket's welcome, its replayed stream entries (any kind), synced."""
    welcome = await client.recv()
    assert welcome["type"] == "welcome", welcome
    replay: list[Frame] = []
    while (frame := await client.recv())["type"] in STREAM:
        replay.append(frame)
    assert frame["type"] == "synced", frame
    return welcome, replay, frame


async def mux_replayed(mux: Mux, room_id: int) -> tuple[Frame, list[Frame], Frame]:
    """The same for one room of a /ws subscribe (the frames carry `room`)."""
    welcome = await mux.next_of(room_id)
    assert welcome["type"] == "welcome", welcome
    replay: list[Frame] = []
    while (frame := await mux.next_of(room_id))["type"] in STREAM:
        replay.append(frame)
    assert frame["type"] == "synced", frame
    return welcome, replay, frame


async def next_entry(client: Client) -> Frame:
    """The next stream frame (any kind of entry) on a per-room socket."""
    while (frame := await client.recv())["type"] not in STREAM:
        assert frame["type"] != "error", frame
    return frame


async def mux_entry(mux: Mux, room_id: int) -> Frame:
    """The next stream frame of this room on a /ws socket."""
    return await mux.next(lambda f: f["type"] in STREAM and f.get("room") == room_id)


async def said(client: Client, body: str, client_msg_id: str, thread_seq: int | None = None) -> Frame:
    """Send on a per-room socket (a reply with `thread_seq`) and wait for the echo (other frames are skipped)."""
    frame = {"type": "message", "body": body, "client_msg_id": client_msg_id}
    await client.send(frame if thread_seq is None else {**frame, "thread_seq": thread_seq})
    while True:
        frame = await client.recv()
        assert frame["type"] != "error", frame
        if frame["type"] == "message" and frame["client_msg_id"] == client_msg_id:
            return frame


def without_room(frames: list[Frame]) -> list[Frame]:
    """/ws frames as the per-room socket and GET /events carry them."""
    return [{k: v for k, v in f.items() if k != "room"} for f in frames]


async def admin(server: LiveServer, username: str) -> tuple[Frame, str]:
    """An admin user, logged in: (user, access token)."""
    async with server.state.sessionmaker() as session, session.begin():
        await create_user(session, server.state.hasher, username, PASSWORD, is_admin=True)
    r = await server.http.post("/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    return await server.me(token), token


async def edit(server: LiveServer, token: str, room_id: int, seq: int, body: object) -> httpx.Response:
    return await server.http.patch(f"/rooms/{room_id}/messages/{seq}", json={"body": body}, headers=auth(token))


async def delete(server: LiveServer, token: str, room_id: int, seq: int) -> httpx.Response:
    return await server.http.delete(f"/rooms/{room_id}/messages/{seq}", headers=auth(token))


async def send(server: LiveServer, token: str, room_id: int, body: str, **fields: object) -> httpx.Response:
    """POST /rooms/{id}/messages."""
    return await server.http.post(f"/rooms/{room_id}/messages", json={"body": body, **fields}, headers=auth(token))


async def react(server: LiveServer, token: str, room_id: int, seq: int, emoji: str, *, add: bool = True) -> int:
    """PUT (or DELETE) a reaction, the emoji percent-encoded; the status code."""
    url = f"/rooms/{room_id}/messages/{seq}/reactions/{quote(emoji, safe='')}"
    r = await (server.http.put if add else server.http.delete)(url, headers=auth(token))
    assert r.status_code in (204, 403, 404, 409, 422), r.text
    return r.status_code


async def pin(server: LiveServer, token: str, room_id: int, seq: int, *, add: bool = True) -> int:
    """PUT (or DELETE) /rooms/{id}/pins/{seq}; the status code."""
    url = f"/rooms/{room_id}/pins/{seq}"
    r = await (server.http.put if add else server.http.delete)(url, headers=auth(token))
    assert r.status_code in (204, 403, 404, 409), r.text
    return r.status_code


async def thread(server: LiveServer, token: str, room_id: int, seq: int, **params: object) -> Frame:
    r = await server.http.get(f"/rooms/{room_id}/threads/{seq}", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    page: Frame = r.json()
    return page


async def mark(server: LiveServer, token: str, room_id: int, seq: object) -> httpx.Response:
    return await server.http.post(f"/rooms/{room_id}/read", json={"seq": seq}, headers=auth(token))


async def join(server: LiveServer, token: str, room_id: int) -> httpx.Response:
    return await server.http.post(f"/rooms/{room_id}/join", headers=auth(token))


async def events_page(server: LiveServer, token: str, room_id: int, **params: object) -> httpx.Response:
    return await server.http.get(f"/rooms/{room_id}/events", params=params, headers=auth(token))


async def events(server: LiveServer, token: str, room_id: int, after: int = 0, limit: int = 500) -> list[Frame]:
    """The whole stream after `after`, paged through GET /rooms/{id}/events."""
    items: list[Frame] = []
    while True:
        r = await events_page(server, token, room_id, after_seq=after, limit=limit)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        if not page["has_more"]:
            return items
        assert page["items"], page
        after = items[-1]["seq"]


async def my_rooms(server: LiveServer, token: str) -> list[Frame]:
    r = await server.http.get("/users/me/rooms", headers=auth(token))
    assert r.status_code == 200, r.text
    items: list[Frame] = r.json()["items"]
    return items


async def marker(server: LiveServer, token: str, room_id: int) -> Frame | None:
    """The caller's entry for the room in GET /users/me/rooms, None when not listed."""
    return next((item for item in await my_rooms(server, token) if item["room"]["id"] == room_id), None)


async def last_seq(server: LiveServer, token: str, room_id: int) -> int:
    r = await server.http.get(f"/rooms/{room_id}", headers=auth(token))
    assert r.status_code == 200, r.text
    seq: int = r.json()["last_seq"]
    return seq


async def post(server: LiveServer, token: str, room_id: int, *bodies: str) -> list[Frame]:
    """Send each body on a fresh per-room socket, each after the echo of the one before; the echoes."""
    client = await server.connect(room_id, token)
    await replayed(client)
    tag = uuid.uuid4().hex[:8]
    echoes = [await said(client, body, f"{tag}-{i}") for i, body in enumerate(bodies)]
    await client.close()
    return echoes
