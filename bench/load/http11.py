"""A minimal HTTP/1.1 client on asyncio streams for the Matrix load client: keep-alive
connections reused one request at a time, Content-Length or chunked answers. httpx
cost the generator about as much per /sync answer as Synapse spent per delivery;
this is a fraction of it."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import orjson


class HTTPError(RuntimeError):
    pass


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Http:
    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[Connection] = []
        self.opened: list[Connection] = []

    async def request(self, method: str, path: str, token: str = "", body: bytes | None = None) -> tuple[int, bytes]:
        conn = self.idle.pop() if self.idle else await self._open()
        reader, writer = conn
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        writer.write((head + "\r\n").encode() + (body or b""))
        status, data, keep = await self._response(reader)
        if keep:
            self.idle.append(conn)
        else:
            writer.close()
        return status, data

    async def json(self, method: str, path: str, token: str = "", body: Any = None) -> Any:
        status, data = await self.request(method, path, token, None if body is None else orjson.dumps(body))
        if status >= 300:
            raise HTTPError(f"{method} {path.split('?')[0]}: {status} {data[:300]!r}")
        return orjson.loads(data)

    async def _open(self) -> Connection:
        conn = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 22)
        self.opened.append(conn)
        return conn

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split()[1])
        length, chunked, keep = None, False, True
        for line in lines[1:]:
            key, _, value = line.partition(b":")
            key, value = key.strip().lower(), value.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding":
                chunked = b"chunked" in value
            elif key == b"connection":
                keep = b"close" not in value
        if chunked:
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                parts.append(await reader.readexactly(size + 2))
            return status, b"".join(p[:-2] for p in parts), keep
        if length is not None:
            return status, await reader.readexactly(length), keep
        return status, await reader.read(), False

    async def close(self) -> None:
        for _, writer in self.opened:
            writer.close()
        self.opened.clear()
        self.idle.clear()


def query(**params: str) -> str:
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
