"""How a file's bytes are answered: its headers, conditional requests and ranges.

Only PNG, JPEG, GIF and WebP go inline; everything else is an
application/octet-stream attachment with its name. Every answer says nosniff
and `Content-Security-Policy: sandbox`, so even a mislabelled file never runs as
a page of the service's origin. One range (`a-b`, `a-`, `-n`) is answered 206;
several ranges get the whole file (200): multipart/byteranges buys clients
little and costs a parser."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from service.errors import NotFound
from service.files.access import FILE_NOT_FOUND
from service.files.images import THUMBNAIL_TYPE
from service.files.kinds import OCTET_STREAM, served_inline
from service.files.names import attachment
from service.files.storage import FileStorage

# Far above any 400 x 400 WebP; a read of a range past the end returns what there is.
MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024


class Unsatisfiable(Exception):
    """A range that starts past the end: 416."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, end) of one satisfiable range, None for the whole file (no range,
    several, or one this parser does not read, which RFC 9110 says to ignore)."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, sep, last = header.removeprefix("bytes=").strip().partition("-")
    if not sep or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if first == "":
        if last == "" or int(last) == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - int(last)), size
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable
    return start, size if last == "" else min(int(last) + 1, size)


def _headers(etag: str, content_type: str, filename: str) -> dict[str, str]:
    inline = served_inline(content_type)
    return {
        "ETag": etag,
        "Cache-Control": "private",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Accept-Ranges": "bytes",
        "Content-Type": content_type if inline else OCTET_STREAM,
        "Content-Disposition": "inline" if inline else attachment(filename),
    }


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


async def answer(
    request: Request, storage: FileStorage, key: str, *, size: int, sha256: str, content_type: str, filename: str
) -> Response:
    """The bytes under `key` as the request asks: 200, 206, 304 or 416, streamed."""
    etag = f'"{sha256}"'
    headers = _headers(etag, content_type, filename)
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
    try:
        wanted = byte_range(request.headers.get("range"), size)
    except Unsatisfiable:
        return Response(
            '{"detail":"range not satisfiable"}',
            status_code=416,
            media_type="application/json",
            headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
        )
    start, end = wanted or (0, size)
    try:
        chunks = await storage.read(key, start, end)
    except FileNotFoundError:
        raise NotFound(FILE_NOT_FOUND) from None
    headers["Content-Length"] = str(end - start)
    if wanted is None:
        return _streamed(chunks, 200, headers)
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return _streamed(chunks, 206, headers)


def _streamed(chunks: AsyncIterator[bytes], status: int, headers: dict[str, str]) -> StreamingResponse:
    media_type = headers.pop("Content-Type")
    return StreamingResponse(chunks, status_code=status, headers=headers, media_type=media_type)


async def thumbnail(request: Request, storage: FileStorage, key: str, *, etag: str) -> Response:
    """A thumbnail, whole: at most 400 x 400 WebP, a few tens of kB."""
    headers = {k: v for k, v in _headers(etag, THUMBNAIL_TYPE, "").items() if k != "Accept-Ranges"}
    headers["Content-Disposition"] = "inline"
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
    try:
        chunks = await storage.read(key, 0, MAX_THUMBNAIL_BYTES)
        data = b"".join([chunk async for chunk in chunks])
    except FileNotFoundError:
        raise NotFound(FILE_NOT_FOUND) from None
    return Response(data, headers=headers, media_type=headers.pop("Content-Type"))
