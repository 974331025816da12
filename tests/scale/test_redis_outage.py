"""Redis behind a proxy the test can cut: /readyz tells, and nothing is lost."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import REDIS_URL, make_settings
from tests.realtime.conftest import serve, wait_until
from tests.scale.proxy import Proxy

pytestmark = pytest.mark.slow


async def test_readyz_reports_a_lost_broker_and_messages_still_flow(database_url: str, redis_prefix: str) -> None:
    target = urlsplit(REDIS_URL)
    proxy = Proxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    settings = make_settings(
        database_url,
        redis_url=f"redis://127.0.0.1:{proxy.port}{target.path}",
        redis_prefix=f"{redis_prefix}-outage",
        rate_per_second=1000,
        rate_burst=1000,
    )
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(proxy.cut)
        server = await stack.enter_async_context(serve(settings))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=server.base))
        _, token = await server.user("alice")
        room = await server.room(token, "general")
        first, second = [await server.connect(room["id"], token) for _ in range(2)]
        for client in (first, second):
            await client.handshake()
        assert (await http.get("/readyz")).json() == {"status": "ok"}

        await proxy.cut()
        await wait_until(lambda: not server.state.hub.broker.healthy)  # type: ignore[attr-defined]
        r = await http.get("/readyz")
        assert r.status_code == 503
        assert r.json()["status"] == "unavailable" and "broker" in r.json()["detail"]

        # Stored, and delivered on this instance even without the broker.
        await first.message("during the outage", "c1")
        assert [m["seq"] for m in await first.messages(1)] == [1]
        assert [m["seq"] for m in await second.messages(1)] == [1]

        await proxy.start()
        async with asyncio.timeout(30):
            while (await http.get("/readyz")).status_code != 200:
                await asyncio.sleep(0.1)
        await second.message("after", "c2")
        assert [m["seq"] for m in await first.messages(1)] == [2]
        assert [m["seq"] for m in await second.messages(1)] == [2]
