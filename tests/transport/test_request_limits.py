"""Request bodies and heads are bounded: refused at once, never read whole."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import orjson

from tests.realtime.conftest import LiveServer, ServerFactory
from tests.transport.rawhttp import exchange, open_raw, read_response, status_of

CHUNK = b"x" * 16_384


def _post(path: str, headers: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n{headers}\r\n".encode()


async def test_a_declared_oversized_body_is_refused_before_it_is_sent(server: LiveServer) -> None:
    for path, content_type in [
        ("/api/v1/auth/register", "application/json"),
        ("/api/v1/auth/token", "application/x-www-form-urlencoded"),
        ("/api/v1/rooms", "application/json"),  # authenticated: the size is refused first
        ("/healthz", "text/plain"),
    ]:
        head = _post(path, f"content-type: {content_type}\r\ncontent-length: 100000000\r\n")
        response = await exchange(server.port, head)  # the body is never sent
        assert status_of(response) == 413, (path, response[:200])
        assert orjson.loads(response.split(b"\r\n\r\n", 1)[1]) == {"detail": "request body too large"}


async def test_a_streamed_oversized_body_is_refused_early(make_server: ServerFactory) -> None:
    server = await make_server(max_body_bytes=64 * 1024)
    reader, writer = await open_raw(server.port)
    writer.write(_post("/api/v1/auth/register", "content-type: application/json\r\ntransfer-encoding: chunked\r\n"))
    sent = 0

    async def upload() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError):
            while sent < 50 * 1024 * 1024:
                writer.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                await writer.drain()
                sent += len(CHUNK)

    uploading = asyncio.create_task(upload())
    response = await read_response(reader)
    uploading.cancel()
    writer.close()
    assert status_of(response) == 413
    # Refused after about the limit, not after the 50 MiB the client would send.
    assert sent < 8 * 1024 * 1024


async def test_bodies_up_to_the_limit_are_served(make_server: ServerFactory) -> None:
    server = await make_server(max_body_bytes=2048)
    body = orjson.dumps({"username": "padded", "password": "correct horse battery"})
    fits = body[:-1] + b" " * (2048 - len(body)) + b"}"
    r = await server.http.post("/auth/register", content=fits, headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    r = await server.http.post("/auth/register", content=fits + b" ", headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_parallel_huge_uploads_leave_health_checks_answered(server: LiveServer) -> None:
    async def huge() -> int:
        async def chunks():  # streamed: no Content-Length, so only counting stops it
            for _ in range(640):  # 10 MiB
                yield CHUNK

        with contextlib.suppress(httpx.TransportError):
            r = await server.http.post("/auth/register", content=chunks(), headers={"content-type": "application/json"})
            return r.status_code
        return 413  # the server closed while the client was still writing, after answering

    uploads = [asyncio.create_task(huge()) for _ in range(10)]
    async with httpx.AsyncClient(base_url=server.base) as http:
        assert (await http.get("/healthz")).status_code == 200
    assert await asyncio.gather(*uploads) == [413] * 10


async def test_deeply_nested_json_bodies_are_answered(server: LiveServer) -> None:
    for depth in (100, 960, 5_000, 30_000):
        body = '{"username": ' + "[" * depth + "]" * depth + ', "password": "x"}'
        r = await server.http.post("/auth/register", content=body, headers={"content-type": "application/json"})
        assert r.status_code in (400, 422), (depth, r.status_code)
        assert "detail" in r.json()
    assert (await server.http.get("/users/me")).status_code == 401  # still serving


async def test_an_overlong_url_is_answered_414_at_once(server: LiveServer) -> None:
    long_query = "x=" + "a" * 9_000
    plain = f"GET /healthz?{long_query} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n".encode()
    upgrade = (
        f"GET /ws/rooms/1?{long_query} HTTP/1.1\r\nhost: t\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
    ).encode()
    for request in (plain, upgrade):
        assert status_of(await exchange(server.port, request, timeout=5)) == 414


async def test_oversized_headers_are_answered_431_at_once(server: LiveServer) -> None:
    upgrade = (
        "GET /ws/rooms/1 HTTP/1.1\r\nhost: t\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n"
    )
    long_line = upgrade + "x-big: " + "b" * 9_000 + "\r\n\r\n"
    many = upgrade + "".join(f"x-h{i}: v\r\n" for i in range(200)) + "\r\n"
    for request in (long_line, many):
        assert status_of(await exchange(server.port, request.encode(), timeout=5)) == 431
    # A normal socket still opens.
    _, token = await server.user("alice")
    room = await server.room(token, "after")
    client = await server.connect(room["id"], token)
    await client.handshake()


async def test_a_header_line_that_never_ends_is_refused_431_after_the_head_limit(server: LiveServer) -> None:
    """Without a line end the parser reports nothing; the bytes are counted as they arrive."""
    reader, writer = await open_raw(server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nhost: t\r\nx-a: ")
    sent = 0

    async def flood() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError):
            while sent < 64 * 1024 * 1024:
                writer.write(b"a" * 65536)
                await writer.drain()
                sent += 65536

    flooding = asyncio.create_task(flood())
    response = await read_response(reader, timeout=5)  # long before the 10 s deadline
    flooding.cancel()
    writer.close()
    assert status_of(response) == 431
    assert sent < 8 * 1024 * 1024  # refused after about the limit
