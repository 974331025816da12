"""Who may fetch a file, and how its bytes are served: headers, ranges, conditions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from service.files.models import File
from service.files.removal import delete_bytes, mark_files_deleted
from service.files.sweep import sweep_orphans
from service.main import State
from tests.conftest import Api
from tests.files.conftest import Files, on_both_databases
from tests.files.test_images import image_bytes

DATA = bytes(range(256)) * 1000  # 256,000 bytes


async def attach(state: State, file: dict, room_id: int) -> None:
    """What attaching to a message does to the row, as far as fetching cares."""
    async with state.sessionmaker() as session, session.begin():
        await session.execute(update(File).where(File.id == int(file["id"])).values(room_id=room_id))


async def test_a_file_is_served_as_an_attachment_with_the_safety_headers(api: Api, files: Files) -> None:
    alice = await api.user("alice")
    file = await files.uploaded(alice, b"<html><script>alert(1)</script>", "page é.html")
    r = await files.content(alice, file)
    assert r.status_code == 200 and r.content == b"<html><script>alert(1)</script>"
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"page _.html\"; filename*=UTF-8''page%20%C3%A9.html"
    )
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "sandbox"
    assert r.headers["etag"] == f'"{file["sha256"]}"'
    assert r.headers["cache-control"] == "private"
    assert r.headers["accept-ranges"] == "bytes"


async def test_images_are_served_inline_with_their_type(api: Api, files: Files) -> None:
    alice = await api.user("alice")
    file = await files.uploaded(alice, image_bytes((20, 10), "PNG"), "dot.png")
    r = await files.content(alice, file)
    assert r.headers["content-type"] == "image/png" and r.headers["content-disposition"] == "inline"


@pytest.mark.parametrize(
    ("header", "status", "expected", "content_range"),
    [
        ("bytes=10-19", 206, DATA[10:20], "bytes 10-19/256000"),
        ("bytes=255990-", 206, DATA[255990:], "bytes 255990-255999/256000"),
        ("bytes=-5", 206, DATA[-5:], "bytes 255995-255999/256000"),
        ("bytes=255990-999999", 206, DATA[255990:], "bytes 255990-255999/256000"),
        ("bytes=0-1, 5-6", 200, DATA, None),
        ("bytes=9-3", 200, DATA, None),
        ("lines=1-2", 200, DATA, None),
    ],
)
async def test_ranges(
    api: Api, files: Files, header: str, status: int, expected: bytes, content_range: str | None
) -> None:
    alice = await api.user("alice")
    file = await files.uploaded(alice, DATA)
    r = await files.content(alice, file, Range=header)
    assert r.status_code == status and r.content == expected
    assert r.headers.get("content-range") == content_range


@pytest.mark.parametrize("header", ["bytes=256000-", "bytes=300000-300010", "bytes=-0"])
async def test_a_range_past_the_end_is_416(api: Api, files: Files, header: str) -> None:
    alice = await api.user("alice")
    file = await files.uploaded(alice, DATA)
    r = await files.content(alice, file, Range=header)
    assert r.status_code == 416 and r.headers["content-range"] == "bytes */256000"


async def test_if_none_match_with_the_etag_is_304(api: Api, files: Files) -> None:
    alice = await api.user("alice")
    file = await files.uploaded(alice, DATA)
    r = await files.content(alice, file, **{"If-None-Match": f'"{file["sha256"]}"'})
    assert r.status_code == 304 and r.content == b""


@on_both_databases
async def test_only_the_uploader_fetches_an_unattached_file_then_the_rooms_readers(
    api: Api, files: Files, state: State
) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    file = await files.uploaded(alice, DATA)
    urls = [f"/files/{file['id']}", f"/files/{file['id']}/content"]
    for url in urls:
        assert (await api.client.get(url, headers=bob)).status_code == 404
    room = await api.room(alice, "secret", private=True)
    r = await api.client.post(f"/rooms/{room['id']}/members", json={"username": "bob"}, headers=alice)
    assert r.status_code == 201, r.text
    await attach(state, file, room["id"])
    for url in urls:
        assert (await api.client.get(url, headers=bob)).status_code == 200
        r = await api.client.get(url, headers=carol)
        assert r.status_code == 404 and r.json() == {"detail": "file not found"}


@pytest.mark.parametrize("file_id", ["999999", "abc", "0", "-1", "99999999999999999999999"])
async def test_an_unknown_id_is_404(api: Api, file_id: str) -> None:
    alice = await api.user("alice")
    for suffix in ("", "/content", "/thumbnail"):
        assert (await api.client.get(f"/files/{file_id}{suffix}", headers=alice)).status_code == 404


async def test_a_deleted_file_is_never_served_again(api: Api, files: Files, state: State) -> None:
    alice = await api.user("alice")
    file = await files.uploaded(alice, image_bytes((20, 10), "PNG"))
    async with state.sessionmaker() as session, session.begin():
        doomed = await mark_files_deleted(session, [int(file["id"])])
    await delete_bytes(state.uploads.storage, doomed)
    for suffix in ("", "/content", "/thumbnail"):
        assert (await api.client.get(f"/files/{file['id']}{suffix}", headers=alice)).status_code == 404
    with pytest.raises(FileNotFoundError):
        await state.uploads.storage.read(doomed[0].keys[0], 0, 1)


@on_both_databases
async def test_the_sweep_removes_unattached_files_past_their_age_only(api: Api, files: Files, state: State) -> None:
    alice = await api.user("alice")
    old = await files.uploaded(alice, b"old")
    kept = await files.uploaded(alice, b"attached")
    room = await api.room(alice, "r")
    r = await api.client.post(f"/rooms/{room['id']}/messages", json={"body": "see this"}, headers=alice)
    assert r.status_code == 201, r.text
    async with state.sessionmaker() as session, session.begin():
        values = {"message_id": r.json()["id"], "room_id": room["id"]}
        await session.execute(update(File).where(File.id == int(kept["id"])).values(**values))
    assert await sweep_orphans(state.sessionmaker, state.uploads.storage, timedelta(hours=1)) == 0
    assert await sweep_orphans(state.sessionmaker, state.uploads.storage, timedelta(0)) == 1
    assert (await files.content(alice, old)).status_code == 404
    assert (await files.content(alice, kept)).content == b"attached"
    assert await sweep_orphans(state.sessionmaker, state.uploads.storage, timedelta(0)) == 0
