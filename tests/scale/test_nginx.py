"""deploy/nginx.conf in front of two instances, with the real nginx."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.conftest import ServiceProcess, free_port
from tests.scale.conftest import login, make_room, read_until, send_all, synced

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"


@pytest.fixture
def nginx(two: tuple[ServiceProcess, ServiceProcess], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        pytest.skip("nginx is not installed (Debian package nginx-light)")
    port = free_port()
    log = tmp_path / "nginx-access.log"
    servers = "\n".join(f"    server 127.0.0.1:{s.port};" for s in two)
    site = CONFIG.read_text()
    site = re.sub(r"upstream chat \{.*?\}", f"upstream chat {{\n{servers}\n}}", site, flags=re.S)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("/var/log/nginx/chat.log", str(log))
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/nginx-error.log;\ndaemon off;\n"
        f"events {{}}\nhttp {{\n{site}\n}}\n"
    )
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(tmp_path)], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        yield base, log
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stderr is not None:
            proc.stderr.close()


async def test_websockets_through_nginx_reach_both_instances(
    nginx: tuple[str, Path], two: tuple[ServiceProcess, ServiceProcess]
) -> None:
    base, log = nginx
    alice = await login(base, "alice")
    room = await make_room(alice, "proxied")
    through_proxy = [await connect(alice.ws_url(room)) for _ in range(4)]  # spread over both upstreams
    for ws in through_proxy:
        await synced(ws)
    direct = await login(two[1].base, "bob")
    await send_all(direct, room, "m", 10)
    for ws in through_proxy:
        assert [m["seq"] for m in await read_until(ws, 10)] == list(range(1, 11))
        await ws.close()
    assert "/ws/rooms/" in log.read_text() and alice.token not in log.read_text()
