"""An entry stored on one instance whose publish never reaches the other still
reaches the other's sockets: its publisher says so once the broker is back, or
the other finds it when the publisher falls silent. Two `chat-service serve`
processes; instance A reaches Redis through a proxy the test cuts, B directly.
The sweep that would find anything in the end is set to an hour, so only the
mechanism under test can deliver within the tests' timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import REDIS_URL, ServiceProcess
from tests.scale.conftest import TIMEOUT, login, make_room, read_until, synced
from tests.scale.proxy import Proxy

pytestmark = pytest.mark.slow


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    target = urlsplit(REDIS_URL)
    proxy = Proxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    yield proxy
    await proxy.cut()


@pytest.fixture
async def pair(
    cluster_env: dict[str, str], tmp_path: Path, proxy: Proxy
) -> AsyncIterator[tuple[ServiceProcess, ServiceProcess]]:
    env = {**cluster_env, "CHAT_LOST_PUBLISH_SWEEP_SECONDS": "3600"}
    through_proxy = {**env, "CHAT_REDIS_URL": f"redis://127.0.0.1:{proxy.port}{urlsplit(REDIS_URL).path}"}
    with contextlib.ExitStack() as stack:
        # Started in a thread: the proxy runs on this loop, and A needs it to start.
        a = await asyncio.to_thread(stack.enter_context, ServiceProcess(through_proxy, tmp_path))
        b = await asyncio.to_thread(stack.enter_context, ServiceProcess(env, tmp_path))
        yield a, b


async def metric(base: str, name: str) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{base}/metrics")).text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def wait_for_metric(base: str, name: str, at_least: float) -> None:
    async with asyncio.timeout(TIMEOUT):
        while await metric(base, name) < at_least:
            await asyncio.sleep(0.1)


async def both_in_room(a: ServiceProcess, b: ServiceProcess) -> tuple[ClientConnection, ClientConnection]:
    alice, bob = await login(a.base, "alice"), await login(b.base, "bob")
    room = await make_room(alice, "partitioned")
    on_a, on_b = await connect(alice.ws_url(room)), await connect(bob.ws_url(room))
    for ws in (on_a, on_b):
        await synced(ws)
    await wait_for_metric(b.base, "chat_peer_instances", 1)  # B knows of A
    return on_a, on_b


async def send_and_see_stored(ws: ClientConnection, body: str) -> None:
    """Sent on A, delivered on A: stored, whatever became of its publish."""
    await ws.send(orjson.dumps({"type": "message", "body": body, "client_msg_id": body}).decode())
    assert [m["body"] for m in await read_until(ws, 1)] == [body]


async def arrives_on_b(on_b: ClientConnection, b: ServiceProcess, body: str, reason: str) -> None:
    """The one message reaches B's socket, brought by a catch-up for `reason`."""
    assert [(m["seq"], m["body"]) for m in await read_until(on_b, 1)] == [(1, body)]
    assert await metric(b.base, f'chat_lost_publish_catch_ups_total{{reason="{reason}"}}') == 1


async def test_the_publisher_tells_once_the_broker_is_back(
    pair: tuple[ServiceProcess, ServiceProcess], proxy: Proxy
) -> None:
    a, b = pair
    on_a, on_b = await both_in_room(a, b)
    await proxy.cut()
    # B takes A for dead and checks its rooms before the message exists: only
    # A's word can bring it now.
    await wait_for_metric(b.base, "chat_instances_lost_total", 1)
    await send_and_see_stored(on_a, "while cut")
    await proxy.start()
    await arrives_on_b(on_b, b, "while cut", "streams_behind")
    for ws in (on_a, on_b):
        await ws.close()


async def test_the_publisher_dying_before_it_could_tell_is_noticed(
    pair: tuple[ServiceProcess, ServiceProcess], proxy: Proxy
) -> None:
    a, b = pair
    on_a, on_b = await both_in_room(a, b)
    await proxy.cut()
    await send_and_see_stored(on_a, "last words")
    # Stored before B gave up on A (that takes 3 s of silence), so B's check then finds it.
    assert await metric(b.base, "chat_instances_lost_total") == 0
    a.stop(signal.SIGKILL)
    await arrives_on_b(on_b, b, "last words", "peer_lost")
    await on_b.close()
