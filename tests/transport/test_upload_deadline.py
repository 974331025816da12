"""Uploads and the request deadline: on the upload route a body that keeps arriving
(64 KiB or more per deadline) pushes the deadline back, so it is never cut; a
client that stops, or trickles less, is answered 408 as on any other route."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import orjson
import pytest

from service.main import create_app
from service.transport.http import UPLOAD_PATH, UPLOAD_PROGRESS_BYTES
from tests.conftest import make_settings
from tests.realtime.conftest import ServerFactory
from tests.transport.rawhttp import open_raw, read_response, status_of

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

DEADLINE = 1.0
PROGRESS = UPLOAD_PROGRESS_BYTES  # what the server must see per deadline
BOUNDARY = "upload-deadline-boundary"


def upload_parts(token: str, size: int) -> tuple[bytes, bytes]:
    """The request's head with the multipart prefix, and its suffix; `size` file bytes go between."""
    prefix = (
        f'--{BOUNDARY}\r\ncontent-disposition: form-data; name="file"; filename="slow.bin"\r\n'
        "content-type: application/octet-stream\r\n\r\n"
    ).encode()
    suffix = f"\r\n--{BOUNDARY}--\r\n".encode()
    head = (
        "POST /api/v1/files HTTP/1.1\r\nhost: t\r\n"
        f"authorization: Bearer {token}\r\n"
        f"content-type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"content-length: {len(prefix) + size + len(suffix)}\r\n\r\n"
    ).encode()
    return head + prefix, suffix


async def closed(writer: asyncio.StreamWriter) -> None:
    """Closed and waited for: a transport left to the garbage collector warns in whatever test runs then."""
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def paced_upload(port: int, token: str, *, chunk: int, chunks: int, pause: float) -> bytes:
    """Send `chunks` chunks of `chunk` bytes, `pause` seconds apart, and read the answer.
    The sender stops at the answer (a refused body is not read to its end)."""
    reader, writer = await open_raw(port)
    start, suffix = upload_parts(token, chunk * chunks)

    async def send() -> None:
        writer.write(start)
        for _ in range(chunks):
            writer.write(b"x" * chunk)
            await writer.drain()
            await asyncio.sleep(pause)  # pacing the sender, not synchronising
        writer.write(suffix)
        await writer.drain()

    sending = asyncio.create_task(send())
    try:
        return await read_response(reader, timeout=chunks * pause + 10)
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sending
        await closed(writer)


@sqlite_only
async def test_an_upload_that_keeps_arriving_outlives_the_deadline(make_server: ServerFactory) -> None:
    server = await make_server(http_request_timeout_seconds=DEADLINE)
    _, token = await server.user("alice")
    # 10 chunks a quarter of the deadline apart: 2.5 deadlines in all, 80 KiB per quarter.
    response = await paced_upload(server.port, token, chunk=PROGRESS + 16 * 1024, chunks=10, pause=DEADLINE / 4)
    assert status_of(response) == 201, response[:300]
    assert orjson.loads(response.split(b"\r\n\r\n", 1)[1])["size"] == 10 * (PROGRESS + 16 * 1024)


@sqlite_only
async def test_an_upload_whose_client_stops_after_the_head_is_answered_408(make_server: ServerFactory) -> None:
    server = await make_server(http_request_timeout_seconds=DEADLINE / 2)
    _, token = await server.user("alice")
    reader, writer = await open_raw(server.port)
    start, _ = upload_parts(token, 1000)
    writer.write(start)  # and nothing more
    try:
        assert status_of(await read_response(reader)) == 408
    finally:
        await closed(writer)


@sqlite_only
async def test_an_upload_trickling_under_64_kib_per_deadline_is_answered_408(make_server: ServerFactory) -> None:
    server = await make_server(http_request_timeout_seconds=DEADLINE)
    _, token = await server.user("alice")
    # 8 KiB a quarter of the deadline: at most 40 KiB by the time a deadline ends.
    response = await paced_upload(server.port, token, chunk=8 * 1024, chunks=40, pause=DEADLINE / 4)
    assert status_of(response) == 408, response[:300]


class StallingStorage:
    """The service's storage, stalling once for longer than the deadline after the
    first chunk of an upload, as an S3 part that is slow to go might."""

    def __init__(self, inner: Any, stall: float) -> None:
        self._inner, self._stall = inner, stall

    async def put(self, key: str, chunks: AsyncIterable[bytes] | bytes) -> None:
        if isinstance(chunks, bytes):
            await self._inner.put(key, chunks)
            return

        async def stalling() -> AsyncIterator[bytes]:
            stalled = False
            async for chunk in chunks:
                yield chunk
                if not stalled:
                    stalled = True
                    await asyncio.sleep(self._stall)  # the storage's pace, not a synchronisation

        await self._inner.put(key, stalling())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@sqlite_only
async def test_an_upload_the_service_is_slow_to_store_is_not_cut(make_server: ServerFactory) -> None:
    # The client has sent everything; the service stops reading while its storage
    # is behind. That is no reason to answer the client 408.
    # A longer deadline than the other tests': a loaded machine must not stall the loop past it.
    deadline = 3 * DEADLINE
    server = await make_server(http_request_timeout_seconds=deadline)
    uploads = server.state.uploads
    uploads.storage = StallingStorage(uploads.storage, stall=2 * deadline)  # type: ignore[assignment]
    _, token = await server.user("alice")
    size = 2 * 1024 * 1024
    response = await paced_upload(server.port, token, chunk=size, chunks=1, pause=0)
    assert status_of(response) == 201, response[:300]
    assert orjson.loads(response.split(b"\r\n\r\n", 1)[1])["size"] == size


@sqlite_only
async def test_other_routes_keep_the_deadline_however_the_body_arrives(make_server: ServerFactory) -> None:
    server = await make_server(http_request_timeout_seconds=DEADLINE, max_body_bytes=1024 * 1024)
    reader, writer = await open_raw(server.port)
    step = PROGRESS + 16 * 1024
    body = b'{"username": "someone", "password": "' + b"p" * (5 * step) + b'"}'
    writer.write(
        b"POST /api/v1/auth/register HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n" % len(body)
    )

    async def send() -> None:
        for start in range(0, len(body), step):
            writer.write(body[start : start + step])
            await writer.drain()
            await asyncio.sleep(DEADLINE / 2)  # pacing: the whole body takes 3 deadlines

    sending = asyncio.create_task(send())
    try:
        assert status_of(await read_response(reader)) == 408
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sending
        await closed(writer)


def test_the_upload_path_is_the_apps_upload_route() -> None:
    paths = create_app(make_settings("sqlite+aiosqlite:///unused.db")).openapi()["paths"]
    assert "multipart/form-data" in paths[UPLOAD_PATH]["post"]["requestBody"]["content"]
