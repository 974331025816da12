"""Files attached to messages (docs/files.md, docs/protocol.md): by the socket's
message frame and the REST send, at most 10, only the sender's own unattached
uploads, each once; every way a message is read carries its File objects; a
message's delete deletes its files for good."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from service.config import Settings
from service.messages.entries import InvalidFiles
from tests.files.conftest import on_both_databases
from tests.files.test_images import image_bytes
from tests.realtime.conftest import LiveServer, auth, serve
from tests.streams import delete, events, last_seq, next_entry, replayed, thread

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    settings = settings.model_copy(update={"rate_per_second": 1000, "rate_burst": 1000})
    async with serve(settings) as live:
        yield live


async def upload(server: LiveServer, token: str, content: bytes, filename: str) -> dict[str, Any]:
    r = await server.http.post("/files", files={"file": (filename, content)}, headers=auth(token))
    assert r.status_code == 201, r.text
    return r.json()


async def send(server: LiveServer, token: str, room_id: int, body: str, **fields: Any) -> httpx.Response:
    return await server.http.post(f"/rooms/{room_id}/messages", json={"body": body, **fields}, headers=auth(token))


async def content(server: LiveServer, token: str, file: dict[str, Any]) -> int:
    return (await server.http.get(f"/files/{file['id']}/content", headers=auth(token))).status_code


@on_both_databases
async def test_files_sent_both_ways_reach_every_reading_of_the_message(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    bob_user, bob = await server.user("bob")
    _, carol = await server.user("carol")
    room = (await server.room(alice, "private", private=True))["id"]
    r = await server.http.post(f"/rooms/{room}/members", json={"username": bob_user["username"]}, headers=auth(alice))
    assert r.status_code in (200, 201, 204), r.text
    png = await upload(server, alice, image_bytes((64, 32), "PNG"), "red.png")
    pdf = await upload(server, alice, PDF, "report.pdf")
    note = await upload(server, alice, b"plain words", "notes.txt")
    watcher = await server.connect(room, bob, since=0)
    await replayed(watcher)

    r = await send(server, alice, room, "", files=[png["id"]])  # 1: files alone may have no body
    assert r.status_code == 201, r.text
    assert r.json()["files"] == [png] and png["width"] == 64 and png["thumbnail_url"]
    sender = await server.connect(room, alice, since=1)
    await replayed(sender)
    await sender.send({"type": "message", "body": "the report", "client_msg_id": "c2", "files": [pdf["id"]]})
    echo = await sender.recv_type("message")  # 2
    assert echo["files"] == [pdf]
    reply = await send(server, alice, room, "and notes", thread_seq=1, files=[note["id"]])  # 3
    assert reply.status_code == 201 and reply.json()["files"] == [note] and reply.json()["thread_seq"] == 1

    live = [await next_entry(watcher) for _ in range(3)]
    assert [f["files"] for f in live] == [[png], [pdf], [note]]
    history = await server.history(bob, room)
    assert [m["files"] for m in history] == [[png], [pdf]]  # top-level only
    assert [e["files"] for e in await events(server, bob, room)] == [[png], [pdf], [note]]
    assert (await thread(server, bob, room, 1))["items"][0]["files"] == [note]
    fresh = await server.connect(room, bob, since=0)
    assert [f["files"] for f in (await replayed(fresh))[1]] == [[png], [pdf], [note]]
    found = await server.http.get("/search", params={"q": "report"}, headers=auth(bob))
    assert [m["files"] for m in found.json()["items"]] == [[pdf]]
    # Once attached, the room's readers may fetch them; no one else.
    for file in (png, pdf, note):
        assert await content(server, bob, file) == 200
        assert await content(server, carol, file) == 404
        assert (await server.http.get(f"/files/{file['id']}", headers=auth(carol))).status_code == 404
    assert (await server.http.get(f"/files/{png['id']}/thumbnail", headers=auth(carol))).status_code == 404


@on_both_databases
async def test_files_a_message_may_not_attach_are_refused_and_nothing_is_stored(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await server.http.post(f"/rooms/{room}/join", headers=auth(bob))
    mine = await upload(server, alice, b"one", "one.txt")
    theirs = await upload(server, bob, b"two", "two.txt")
    taken = await upload(server, alice, b"three", "three.txt")
    assert (await send(server, alice, room, "first", files=[taken["id"]])).status_code == 201  # 1
    many = [(await upload(server, alice, bytes([n]), f"{n}.bin"))["id"] for n in range(11)]

    refused = [
        [theirs["id"]],  # someone else's upload
        [mine["id"], mine["id"]],  # the same file twice
        [taken["id"]],  # attached already
        ["999999"],  # no such file
        ["not-an-id"],
        many,  # more than ten
    ]
    for files in refused:
        r = await send(server, alice, room, "with files", files=files)
        assert r.status_code == 409, (files, r.text)
        assert r.json()["detail"]["code"] == InvalidFiles.code
    assert (await send(server, alice, room, " ", files=[])).status_code == 422  # blank, no files
    sock = await server.connect(room, alice, since=1)
    await replayed(sock)
    await sock.send({"type": "message", "body": "x", "client_msg_id": "s1", "files": [theirs["id"]]})
    error = await sock.recv_type("error")
    assert error["code"] == "invalid_files" and error["client_msg_id"] == "s1"
    await sock.send({"type": "message", "body": "", "client_msg_id": "s2", "files": many})
    assert (await sock.recv_type("error"))["code"] == "invalid_files"
    await sock.send({"type": "message", "body": "x", "client_msg_id": "s3", "files": [1]})
    assert (await sock.recv_type("error"))["code"] == "invalid_frame"
    assert await last_seq(server, alice, room) == 1
    assert await content(server, alice, mine) == 200  # still unattached, still the uploader's
    assert await content(server, bob, mine) == 404
    # Two sends racing for one file: one gets it.
    outcomes = await asyncio.gather(
        *(send(server, alice, room, f"race {n}", files=[mine["id"]]) for n in range(2)),
    )
    assert sorted(r.status_code for r in outcomes) == [201, 409]
    assert await last_seq(server, alice, room) == 2


@on_both_databases
async def test_a_resent_message_with_files_gets_the_original(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    room = (await server.room(alice, "general"))["id"]
    file = await upload(server, alice, PDF, "a.pdf")
    first = await send(server, alice, room, "", files=[file["id"]], client_msg_id="once")
    again = await send(server, alice, room, "", files=[file["id"]], client_msg_id="once")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and again.json()["files"] == [file]
    assert await last_seq(server, alice, room) == 1


async def test_deleting_a_message_deletes_its_files_for_good(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await server.http.post(f"/rooms/{room}/join", headers=auth(bob))
    png = await upload(server, alice, image_bytes((40, 40), "PNG"), "a.png")
    r = await send(server, alice, room, "look", files=[png["id"]])
    assert r.status_code == 201 and await content(server, bob, png) == 200
    assert (await delete(server, alice, room, 1)).status_code == 204
    for token in (alice, bob):
        assert await content(server, token, png) == 404
        assert (await server.http.get(f"/files/{png['id']}/thumbnail", headers=auth(token))).status_code == 404
    (message,) = await server.history(bob, room)
    assert message["deleted"] and message["files"] == []
    storage = server.state.uploads.storage
    async with server.state.reads() as session:
        from sqlalchemy import select

        from service.files.models import File

        keys = (await session.execute(select(File.storage_key, File.thumbnail_key))).one()
    for key in keys:
        with pytest.raises(Exception):  # noqa: B017,PT011 - gone from storage, whatever the backend says
            async with contextlib.aclosing(await storage.read(key, 0, 1)) as chunks:
                [chunk async for chunk in chunks]
