"""`chat-service serve` as operators run it: shutdown, restart, logs, the example client."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.conftest import PASSWORD, ServiceProcess, service_env

pytestmark = pytest.mark.slow

# The client the README points to, run as a user would run it.
FOLLOW = Path(__file__).resolve().parents[2] / "examples" / "follow.py"
CONVERGE = FOLLOW.with_name("converge.py")


async def _user(base: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=f"{base}/api/v1") as http:
        await http.post("/auth/register", json={"username": username, "password": PASSWORD})
        r = await http.post("/auth/token", data={"username": username, "password": PASSWORD})
        return r.json()["access_token"]


async def _room(base: str, token: str, name: str) -> int:
    async with httpx.AsyncClient(base_url=f"{base}/api/v1") as http:
        r = await http.post("/rooms", json={"name": name}, headers={"Authorization": f"Bearer {token}"})
        return r.json()["id"]


async def _history(base: str, token: str, room_id: int) -> list[dict]:
    items: list[dict] = []
    async with httpx.AsyncClient(base_url=f"{base}/api/v1") as http:
        while True:
            r = await http.get(
                f"/rooms/{room_id}/messages",
                params={"after_seq": items[-1]["seq"] if items else 0, "limit": 200},
                headers={"Authorization": f"Bearer {token}"},
            )
            page = r.json()["items"]
            if not page:
                return items
            items += page


def _ws(base: str, room_id: int, token: str, since: int | None = None) -> str:
    url = f"{base.replace('http', 'ws', 1)}/ws/rooms/{room_id}?token={token}"
    return url if since is None else f"{url}&since={since}"


async def test_sigterm_closes_1012_and_every_echoed_message_survives(tmp_path: Path) -> None:
    env = service_env(
        f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}", CHAT_RATE_PER_SECOND="1000", CHAT_RATE_BURST="1000"
    )
    echoed: list[dict] = []
    with ServiceProcess(env, tmp_path) as service:
        token = await _user(service.base, "alice")
        room_id = await _room(service.base, token, "general")
        listener = await connect(_ws(service.base, room_id, token))
        sender = await connect(_ws(service.base, room_id, token))
        stop_sending = asyncio.Event()
        window = asyncio.Semaphore(10)  # at most 10 messages awaiting their echo

        async def send_forever() -> None:
            i = 0
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await window.acquire()
                    await sender.send(
                        orjson.dumps({"type": "message", "body": f"m{i}", "client_msg_id": f"c{i}"}).decode()
                    )
                    i += 1

        async def read_echoes() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for raw in sender:
                    frame = orjson.loads(raw)
                    if frame["type"] == "message":
                        echoed.append(frame)
                        window.release()
                        if len(echoed) == 50:
                            stop_sending.set()

        sending, reading = asyncio.create_task(send_forever()), asyncio.create_task(read_echoes())
        await asyncio.wait_for(stop_sending.wait(), 30)
        # Mid-stream. uvicorn shuts down gracefully, then re-raises the signal; the
        # clients go on meanwhile, so they answer the close as real ones do.
        stopping = asyncio.create_task(asyncio.to_thread(service.stop, signal.SIGTERM))
        await asyncio.wait_for(reading, 30)  # ends when the server closes the socket
        sending.cancel()
        assert sender.close_code == 1012
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(10):
                async for _ in listener:
                    pass
        assert listener.close_code == 1012
        assert await stopping in (0, -signal.SIGTERM)
        assert "Traceback" not in service.output()
        assert "Application shutdown complete" in service.output()

    with ServiceProcess(env, tmp_path) as restarted:
        stored = await _history(restarted.base, token, room_id)
    by_seq = {m["seq"]: m for m in stored}
    assert len(echoed) >= 50
    for frame in echoed:
        frame.pop("type")
        assert by_seq[frame["seq"]] == frame
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))


async def test_sigterm_reaches_clients_still_sending_as_a_1012_close_frame(tmp_path: Path) -> None:
    # A socket closed with unread input is reset, and a reset discards the close
    # frame in the client's buffer: the server must finish the closing handshake.
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    with ServiceProcess(env, tmp_path) as service:
        token = await _user(service.base, "alice")
        room_id = await _room(service.base, token, "general")
        clients = [await connect(_ws(service.base, room_id, token)) for _ in range(8)]
        for ws in clients:
            await ws.recv()  # welcome
        flooding = asyncio.Event()

        async def flood(ws: ClientConnection) -> None:
            with contextlib.suppress(ConnectionClosed):
                for i in itertools.count():
                    await ws.pong(i.to_bytes(8))  # unsolicited pongs: read and dropped by the server
                    if i == 1000:
                        flooding.set()
                    await asyncio.sleep(0)

        floods = [asyncio.create_task(flood(ws)) for ws in clients]
        await asyncio.wait_for(flooding.wait(), 10)
        stopping = asyncio.create_task(asyncio.to_thread(service.stop, signal.SIGTERM))
        await asyncio.wait_for(asyncio.gather(*floods), 30)
        await stopping
        assert [(ws.close_code, ws.close_reason) for ws in clients] == [(1012, "server restarting")] * 8


async def test_tokens_never_reach_the_log(tmp_path: Path) -> None:
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    with ServiceProcess(env, tmp_path, "--log-level", "debug") as service:
        token = await _user(service.base, "alice")
        room_id = await _room(service.base, token, "general")
        async with connect(_ws(service.base, room_id, token, since=0)) as ws:
            await ws.recv()
        # Percent-encoded names are decoded by the endpoint, so they carry a token too.
        ws_base = service.base.replace("http", "ws", 1)
        for name in ("%74oken", "tok%65n", "%74%6F%6B%65%6E"):
            async with connect(f"{ws_base}/ws/rooms/{room_id}?since=0&{name}={token}") as ws:
                assert orjson.loads(await ws.recv())["type"] == "welcome"
        # A quote before the token, and its first letter percent-encoded: still a token to the app.
        async with connect(f"{ws_base}/ws/rooms/{room_id}?x='&token=%65{token[1:]}") as ws:
            assert orjson.loads(await ws.recv())["type"] == "welcome"
        # As the web client sends it; uvicorn logs request headers at debug level.
        protocols = [Subprotocol("chat.v1.json"), Subprotocol(f"chat.token.{token}")]
        async with connect(f"{ws_base}/ws/rooms/{room_id}?since=0", subprotocols=protocols) as ws:
            assert orjson.loads(await ws.recv())["type"] == "welcome"
        bad = await connect(_ws(service.base, 999, "not.a.valid-token"))
        with contextlib.suppress(ConnectionClosed):
            await asyncio.wait_for(bad.recv(), 10)
        async with httpx.AsyncClient() as http:
            await http.get(f"{service.base}/healthz?token={token}&x=1")
            await http.get(f"{service.base}/nowhere?access_token={token}")
            await http.get(f"{service.base}/nowhere?TOKEN={token}")
            await http.get(f"{service.base}/nowhere?Refresh%5FToken={token}")
        service.stop()
        output = service.output()
    assert "WebSocket /ws/rooms/" in output  # the lines are there, redacted
    assert token not in output and "not.a.valid-token" not in output
    assert token.split(".")[2] not in output  # not even the signature
    for redacted in ("?token=[redacted]", "&%74oken=[redacted]", "&tok%65n=[redacted]", "?TOKEN=[redacted]"):
        assert redacted in output, redacted


async def test_example_client_follows_two_rooms_across_a_restart_without_duplicates(tmp_path: Path) -> None:
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")

    async def send(base: str, token: str, room_id: int, numbers: range) -> None:
        async with connect(_ws(base, room_id, token)) as ws:
            for i in numbers:
                await ws.send(orjson.dumps({"type": "message", "body": f"m{i}", "client_msg_id": str(i)}).decode())
                while orjson.loads(await ws.recv()).get("client_msg_id") != str(i):
                    pass

    with ServiceProcess(env, tmp_path) as service:
        token = await _user(service.base, "alice")
        first = await _room(service.base, token, "general")
        second = await _room(service.base, token, "random")
        await send(service.base, token, first, range(1, 3))  # history shown on first connect
        follower = subprocess.Popen(
            [sys.executable, str(FOLLOW), service.base, "alice", PASSWORD, str(first), str(second)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            lines = await _read_lines(follower, 2)
            await send(service.base, token, second, range(3, 6))
            lines += await _read_lines(follower, 3)
            service.stop()
            # Restarted on the same port; messages sent before the client is back are replayed.
            with ServiceProcess(env, tmp_path, port=service.port) as again:
                await send(again.base, token, first, range(6, 9))
                await send(again.base, token, second, range(9, 11))
                lines += await _read_lines(follower, 5, timeout=60)
                await send(again.base, token, first, range(11, 13))
                lines += await _read_lines(follower, 2)
        finally:
            follower.kill()
            follower.wait()
            for stream in (follower.stdout, follower.stderr):
                if stream is not None:
                    stream.close()
    shown: dict[int, list[str]] = {first: [], second: []}
    for line in lines:
        room, _, rest = line[1:].partition(":")
        shown[int(room)].append(rest)
    assert shown[first] == [f"{seq}] alice: m{i}" for seq, i in enumerate([1, 2, 6, 7, 8, 11, 12], start=1)]
    assert shown[second] == [f"{seq}] alice: m{i}" for seq, i in enumerate([3, 4, 5, 9, 10], start=1)]


async def test_example_converging_client_ends_with_every_message_as_the_server_has_it(tmp_path: Path) -> None:
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    with ServiceProcess(env, tmp_path) as service:
        alice, bob = await _user(service.base, "alice"), await _user(service.base, "bob")
        room_id = await _room(service.base, alice, "general")
        async with httpx.AsyncClient(base_url=f"{service.base}/api/v1/rooms/{room_id}") as http:

            async def call(token: str, method: str, path: str, body: dict | None = None) -> dict:
                r = await http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
                assert r.is_success, r.text
                return r.json() if r.content else {}

            await call(bob, "POST", "/join")
            root = (await call(alice, "POST", "/messages", {"body": "lunch?"}))["seq"]
            reply = (await call(bob, "POST", "/messages", {"body": "noon?", "thread_seq": root}))["seq"]
            await call(bob, "PUT", f"/messages/{root}/reactions/%F0%9F%91%8D")
            # The client loads history while its socket replays these, then takes the rest live.
            client = subprocess.Popen(
                [sys.executable, str(CONVERGE), service.base, "bob", PASSWORD, str(room_id)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                await call(alice, "PATCH", f"/messages/{root}", {"body": "lunch at noon, @bob?"})
                await call(alice, "PUT", f"/pins/{root}")
                late = (await call(bob, "POST", "/messages", {"body": "yes @alice", "thread_seq": root}))["seq"]
                await call(alice, "PUT", f"/messages/{late}/reactions/%3A%2B1%3A")
                await call(bob, "DELETE", f"/messages/{root}/reactions/%F0%9F%91%8D")
                await call(bob, "DELETE", f"/messages/{reply}")
                await call(alice, "POST", "/messages", {"body": "@room done"})
                thread = await call(alice, "GET", f"/threads/{root}")
                history = await call(alice, "GET", "/messages")
                server = {m["seq"]: m for m in [*history["items"], *thread["items"]]}
                shown: dict[int, dict] = {}
                async with asyncio.timeout(20):
                    while shown != server:
                        state = orjson.loads((await _read_lines(client, 1))[0])
                        shown[state["seq"]] = state
            finally:
                client.kill()
                client.wait()
                for stream in (client.stdout, client.stderr):
                    if stream is not None:
                        stream.close()
    assert shown[root]["reply_count"] == 1 and shown[reply]["deleted"] is True


async def _read_lines(proc: subprocess.Popen[str], count: int, timeout: float = 20) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        while len(lines) < count:
            line = await asyncio.to_thread(proc.stdout.readline)
            assert line, proc.stderr.read() if proc.stderr else ""
            lines.append(line.rstrip("\n"))
    return lines
