"""Raw TCP clients for what well-behaved HTTP libraries will not send."""

from __future__ import annotations

import asyncio

TIMEOUT = 10.0


async def open_raw(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def read_until_closed(reader: asyncio.StreamReader, timeout: float = TIMEOUT) -> bytes:
    """Everything the server sends until it closes the connection."""
    async with asyncio.timeout(timeout):
        return await reader.read()


async def read_response(reader: asyncio.StreamReader, timeout: float = TIMEOUT) -> bytes:
    """One response, head and body, without waiting for the connection to close."""
    async with asyncio.timeout(timeout):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        return head + await reader.readexactly(length)


async def exchange(port: int, request: bytes, timeout: float = TIMEOUT) -> bytes:
    reader, writer = await open_raw(port)
    try:
        writer.write(request)
        await writer.drain()
        return await read_response(reader, timeout)
    finally:
        writer.close()


def status_of(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 "), response[:80]
    return int(response[9:12])
