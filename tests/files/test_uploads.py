"""POST /files: stored, described, and every bad input answered without a trace."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.config import Settings
from service.files.models import File
from service.main import State
from tests.conftest import Api
from tests.files.conftest import Files, on_both_databases
from tests.files.test_images import image_bytes, png_claiming


async def file_rows(state: State) -> int:
    async with state.reads() as session:
        return await session.scalar(select(func.count()).select_from(File)) or 0


def stored_objects(settings: Settings) -> list[str]:
    import obstore

    from service.files.storage import open_storage

    storage = open_storage(settings.files_location(), s3_endpoint_url=settings.s3_endpoint_url)
    return [m["path"] for batch in obstore.list(storage._store) for m in batch]


@on_both_databases
async def test_an_upload_is_stored_with_its_hash_size_and_detected_type(api: Api, files: Files) -> None:
    alice = await api.user("alice")
    data = b"%PDF-1.4\n" + b"x" * 200_000
    file = await files.uploaded(alice, data, "report.png")  # the name's type is not believed
    assert file["content_type"] == "application/pdf"
    assert file["size"] == len(data) and file["sha256"] == hashlib.sha256(data).hexdigest()
    assert file["filename"] == "report.png" and isinstance(file["id"], str)
    assert file["url"] == f"/api/v1/files/{file['id']}/content"
    assert file["width"] is None and file["thumbnail_url"] is None
    r = await api.client.get(f"/files/{file['id']}", headers=alice)
    assert r.status_code == 200 and r.json() == file


async def test_an_image_gets_its_dimensions_and_a_thumbnail(api: Api, files: Files) -> None:
    alice = await api.user("alice")
    file = await files.uploaded(alice, image_bytes((1000, 500), "JPEG"), "cat.jpg")
    assert (file["content_type"], file["width"], file["height"]) == ("image/jpeg", 1000, 500)
    r = await api.client.get(f"/files/{file['id']}/thumbnail", headers=alice)
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    import io

    from PIL import Image

    with Image.open(io.BytesIO(r.content)) as thumb:
        assert thumb.size == (400, 200)


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (png_claiming(100_000, 100_000), "bomb.png"),
        (image_bytes((800, 600), "JPEG")[:3000], "truncated.jpg"),
        (b"<html><script>alert(1)</script></html>", "x.png"),
        (b"GIF89a<script>alert(1)</script>", "polyglot.gif"),
    ],
)
async def test_crafted_images_are_stored_without_dimensions_or_thumbnail(
    api: Api, files: Files, content: bytes, name: str
) -> None:
    alice = await api.user("alice")
    file = await files.uploaded(alice, content, name)
    assert (file["width"], file["height"], file["thumbnail_url"]) == (None, None, None)
    assert (await api.client.get(f"/files/{file['id']}/thumbnail", headers=alice)).status_code == 404
    assert (await files.content(alice, file)).content == content


async def test_a_filename_with_path_parts_and_nul_is_cleaned(api: Api, files: Files) -> None:
    alice = await api.user("alice")
    # Written by hand: httpx would percent-encode the NUL.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="..\\../etc/pass\x00wd"\r\n\r\nabc\r\n--b--\r\n'
    )
    r = await api.client.post(
        "/files", content=body, headers={**alice, "Content-Type": "multipart/form-data; boundary=b"}
    )
    assert r.status_code == 201 and r.json()["filename"] == "passwd"


async def test_a_file_over_the_limit_is_refused_and_leaves_nothing(
    api: Api, files: Files, state: State, settings: Settings
) -> None:
    state.uploads._max_file_bytes = 100_000
    alice = await api.user("alice")
    r = await files.upload(alice, b"x" * 100_001)
    assert r.status_code == 413 and r.json()["detail"] == "file larger than 100,000 bytes"
    r = await files.upload(alice, b"x" * 1_000_000)  # declared length over it: refused before reading
    assert r.status_code == 413
    assert await file_rows(state) == 0 and stored_objects(settings) == []
    assert (await files.upload(alice, b"x" * 100_000)).status_code == 201


@on_both_databases
async def test_an_upload_over_the_quota_is_refused_and_leaves_nothing(
    api: Api, files: Files, state: State, settings: Settings
) -> None:
    state.uploads._quota_bytes = 150_000
    alice, bob = await api.user("alice"), await api.user("bob")
    await files.uploaded(alice, b"a" * 100_000)
    r = await files.upload(alice, b"b" * 60_000)
    assert r.status_code == 413 and "quota" in r.json()["detail"]
    assert await file_rows(state) == 1 and len(stored_objects(settings)) == 1
    await files.uploaded(bob, b"c" * 100_000)  # a quota is per user


async def test_uploads_are_rate_limited_per_user(tmp_path: Path, api: Api, files: Files, state: State) -> None:
    from limits import parse

    from service.userlimits import Action

    state.user_limits._limits[Action.UPLOAD_FILE] = parse("2/minute")
    alice = await api.user("alice")
    for _ in range(2):
        await files.uploaded(alice, b"abc")
    r = await files.upload(alice, b"abc")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_a_body_without_a_file_part_is_422(api: Api, files: Files, state: State) -> None:
    alice = await api.user("alice")
    r = await files.upload(alice, b"abc", field="attachment")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    assert await file_rows(state) == 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc'),
        ("multipart/form-data", b"whatever"),
        ("application/json", b"{}"),
        ("multipart/form-data; boundary=b", b"\x00\xff garbage"),
    ],
    ids=["unterminated", "no-boundary", "not-multipart", "garbage"],
)
async def test_a_malformed_body_is_a_client_error_and_leaves_nothing(
    api: Api, state: State, settings: Settings, content_type: str, body: bytes
) -> None:
    alice = await api.user("alice")
    r = await api.client.post("/files", content=body, headers={**alice, "Content-Type": content_type})
    assert r.status_code in (400, 422), r.text
    assert "detail" in r.json()
    assert await file_rows(state) == 0 and stored_objects(settings) == []


async def test_an_upload_without_a_token_is_401(api: Api, files: Files) -> None:
    assert (await files.upload({}, b"abc")).status_code == 401
