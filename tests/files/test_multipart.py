"""Reading a multipart body's `file` part as it arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.files.multipart import ENVELOPE_BYTES, MalformedBody, MissingFile, file_part

BOUNDARY = "xyzzy"
TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def body(*parts: tuple[str, str | None, bytes], close: bool = True) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + (f"--{BOUNDARY}--\r\n".encode() if close else b"")


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read(data: bytes, size: int = 7) -> tuple[str, bytes]:
    part = await file_part(chunked(data, size), TYPE)
    return part.filename, b"".join([c async for c in part.chunks])


@pytest.mark.parametrize("size", [1, 7, 100_000])
async def test_the_file_part_is_read_whatever_the_chunks(size: int) -> None:
    data = bytes(range(256)) * 40 + b"\r\n--xyzz"  # looks like a boundary, is not
    raw = body(("note", None, b"hello"), ("file", "a.txt", data), ("after", None, b"x" * 50))
    assert await read(raw, size) == ("a.txt", data)


async def test_a_body_without_a_file_part_is_missing_it() -> None:
    with pytest.raises(MissingFile):
        await read(body(("other", "a.txt", b"abc")))


@pytest.mark.parametrize(
    "raw",
    [
        b"this is not multipart at all",
        body(("file", "a.txt", b"abc"), close=False),
        body(("file", "a.txt", b"abc"), ("file", "b.txt", b"def")),
        body(("note", None, b"x" * (ENVELOPE_BYTES + 1)), ("file", "a.txt", b"abc")),
    ],
    ids=["garbage", "unterminated", "two-files", "large-envelope"],
)
async def test_a_malformed_body_is_refused(raw: bytes) -> None:
    with pytest.raises((MalformedBody, MissingFile)):
        await read(raw)


async def test_a_body_that_is_not_multipart_is_refused() -> None:
    with pytest.raises(MalformedBody):
        await file_part(chunked(b"{}", 2), "application/json")
