"""An HTTP response its client does not read is abandoned after
CHAT_SEND_TIMEOUT_SECONDS and its connection dropped, so what it held is freed."""

from __future__ import annotations

import asyncio
import contextlib

from service.messages.store import Pending
from tests.realtime.conftest import ServerFactory, wait_until
from tests.realtime.unread import TCP_ESTABLISHED, send_request, tcp_state
from tests.storing import store_batch

BIG = 16_000


async def test_an_unread_response_is_dropped_after_the_send_timeout(make_server: ServerFactory) -> None:
    timeout = 1.0
    server = await make_server(send_timeout_seconds=timeout, max_message_chars=BIG)
    alice, token = await server.user("alice")
    room = await server.room(token, "big")
    count = 400  # a 6.4 MB page: more than the socket buffers (here about 3 MB) hold
    batch = [Pending(room["id"], alice["id"], "alice", f"{i} " + "x" * (BIG - 6), None) for i in range(count)]
    await store_batch(server.state.engine, batch)

    loop = asyncio.get_running_loop()
    started = loop.time()
    raw = await send_request(
        server.port,
        f"GET /api/v1/rooms/{room['id']}/events?after_seq=0&limit=500 HTTP/1.1\r\n"
        f"host: t\r\nauthorization: Bearer {token}\r\n\r\n",
    )
    try:
        await wait_until(lambda: tcp_state(raw) != TCP_ESTABLISHED, timeout=timeout + 10)
        assert loop.time() - started >= timeout
        received = 0
        with contextlib.suppress(ConnectionResetError):
            while chunk := await asyncio.wait_for(loop.sock_recv(raw, 1 << 20), 5):
                received += len(chunk)
        assert received < count * BIG  # cut short
    finally:
        raw.close()
