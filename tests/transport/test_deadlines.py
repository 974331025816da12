"""Connections that never finish a request, or sit idle, are closed."""

from __future__ import annotations

import asyncio
import contextlib
import resource
from pathlib import Path

import httpx

from tests.conftest import ServiceProcess, service_env
from tests.realtime.conftest import ServerFactory
from tests.transport.rawhttp import open_raw, read_response, read_until_closed, status_of

UPGRADE_HEAD = (
    "GET /ws/rooms/1 HTTP/1.1\r\nhost: t\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
    "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


async def test_unfinished_requests_are_answered_408_and_closed(make_server: ServerFactory) -> None:
    server = await make_server(http_request_timeout_seconds=0.5)
    unfinished = {
        "nothing sent": b"",
        "half a request line": b"GET /heal",
        "headers without their end": b"GET /healthz HTTP/1.1\r\nhost: t\r\n",
        "an upgrade without its end": UPGRADE_HEAD.encode(),
        "a body shorter than declared": (
            b"POST /api/v1/auth/register HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
            b'content-length: 100\r\n\r\n{"user'
        ),
    }
    async with asyncio.TaskGroup() as group:
        answers = {
            name: group.create_task(_send_and_wait_for_close(server.port, data)) for name, data in unfinished.items()
        }
    for name, answer in answers.items():
        response = answer.result()
        assert status_of(response) == 408, (name, response[:100])


async def _send_and_wait_for_close(port: int, data: bytes) -> bytes:
    reader, writer = await open_raw(port)
    writer.write(data)
    try:
        return await read_until_closed(reader, timeout=5)
    finally:
        writer.close()


async def test_idle_keep_alive_connections_close(make_server: ServerFactory) -> None:
    server = await make_server(http_keep_alive_seconds=0.5)
    reader, writer = await open_raw(server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
    assert status_of(await read_response(reader)) == 200
    assert await read_until_closed(reader, timeout=5) == b""  # closed by the server, nothing more sent
    writer.close()


async def test_a_slow_but_steady_client_is_still_served(make_server: ServerFactory) -> None:
    # The deadline covers the whole request, so a client must finish it in time,
    # but a request finished in time is served however it was split.
    server = await make_server(http_request_timeout_seconds=2)
    reader, writer = await open_raw(server.port)
    for part in (b"GET /hea", b"lthz HTTP/1.1\r\n", b"host: t\r\n", b"\r\n"):
        writer.write(part)
        await writer.drain()
    assert status_of(await read_response(reader)) == 200
    writer.close()


async def test_bare_connections_beyond_the_soft_file_limit_leave_health_checks_answered(tmp_path: Path) -> None:
    """`serve` lifts the soft limit on open files to the hard one; with a soft limit
    of 256 and 400 connections that send nothing, it still answers."""
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}", CHAT_HTTP_REQUEST_TIMEOUT_SECONDS="30")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= 1024, "the test needs a hard limit on open files of at least 1024"
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        service = ServiceProcess(env, tmp_path).__enter__()  # the child inherits the soft limit
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    writers: list[asyncio.StreamWriter] = []
    try:
        for _ in range(400):
            _, writer = await open_raw(service.port)
            writers.append(writer)
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(f"{service.base}/healthz")).status_code == 200
    finally:
        for writer in writers:
            with contextlib.suppress(Exception):
                writer.close()
        service.stop()
    assert "Too many open files" not in service.output()
