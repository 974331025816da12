"""A 25 MiB upload, and a 25 MiB download read slowly, leave a real server's memory
as it was, give or take a few MiB: neither is ever held whole (docs/files.md).

On S3 an upload holds the parts in flight (5 MiB each, S3's smallest), so its
bound is theirs. Measured on a `chat-service serve` process: its peak resident set (VmHWM) is reset
through /proc/<pid>/clear_refs, so the peak after a transfer is the transfer's own."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.files.storage import PARTS_IN_FLIGHT, S3_PART_BYTES
from tests.conftest import PASSWORD, ServiceProcess, require_service, service_env
from tests.files.conftest import S3Server

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
SIZE = 25 * MiB
GROWTH_LIMIT = 10 * MiB
# The parts being sent, and the one being filled.
S3_GROWTH_LIMIT = (PARTS_IN_FLIGHT + 1) * S3_PART_BYTES
CHUNK = 64 * 1024
BOUNDARY = "memory-test-boundary"


class PeakMemory:
    """A process's resident set, and its peak since the last reset."""

    def __init__(self, pid: int) -> None:
        self._proc = Path(f"/proc/{pid}")
        self._base = 0

    def _status(self, field: str) -> int:
        line = next(li for li in (self._proc / "status").read_text().splitlines() if li.startswith(field + ":"))
        return int(line.split()[1]) * 1024

    def reset(self) -> None:
        try:
            (self._proc / "clear_refs").write_text("5")  # "5": the peak becomes the current size
        except OSError as exc:
            require_service("/proc/<pid>/clear_refs (resetting a process's peak memory)", exc)
        self._base = self._status("VmRSS")

    def growth(self) -> int:
        return self._status("VmHWM") - self._base


def upload_body(size: int) -> tuple[Iterator[bytes], int]:
    """A multipart body with one `file` part of `size` bytes, made as it is sent."""
    prefix = (
        f'--{BOUNDARY}\r\ncontent-disposition: form-data; name="file"; filename="big.bin"\r\n'
        "content-type: application/octet-stream\r\n\r\n"
    ).encode()
    suffix = f"\r\n--{BOUNDARY}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield prefix
        for start in range(0, size, CHUNK):
            yield pattern(start, min(CHUNK, size - start))
        yield suffix

    return chunks(), len(prefix) + size + len(suffix)


def pattern(start: int, length: int) -> bytes:
    """Bytes that are not all alike (nothing compresses or dedups them away), the same every time."""
    block = hashlib.sha256(str(start).encode()).digest()
    return (block * (length // len(block) + 1))[:length]


def expected_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for start in range(0, size, CHUNK):
        digest.update(pattern(start, min(CHUNK, size - start)))
    return digest.hexdigest()


@pytest.fixture(params=["local", "s3"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceProcess]:
    files: dict[str, str] = {}
    if request.param == "s3":
        s3: S3Server = request.getfixturevalue("s3_server")
        files = {
            **s3.env,
            "CHAT_FILES_URL": f"s3://{s3.bucket}/{uuid.uuid4().hex[:12]}",
            "CHAT_S3_ENDPOINT_URL": s3.endpoint,
            "CHAT_S3_REGION": "us-east-1",
        }
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}", **files)
    with ServiceProcess(env, tmp_path) as running:
        yield running


@pytest.fixture
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{service.base}/api/v1", timeout=60) as client:
        assert client.post("/auth/register", json={"username": "alice", "password": PASSWORD}).status_code == 201
        token = client.post("/auth/token", data={"username": "alice", "password": PASSWORD}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def upload(http: httpx.Client, size: int) -> dict:
    body, length = upload_body(size)
    r = http.post(
        "/files",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}", "content-length": str(length)},
    )
    assert r.status_code == 201, r.text
    return r.json()


def download_slowly(http: httpx.Client, file: dict, pause: float) -> str:
    digest = hashlib.sha256()
    with http.stream("GET", f"/files/{file['id']}/content") as r:
        assert r.status_code == 200
        for chunk in r.iter_raw(CHUNK):
            digest.update(chunk)
            time.sleep(pause)  # pacing the reader: the server waits for it
    return digest.hexdigest()


def test_a_25_mib_upload_and_a_slow_download_raise_the_servers_memory_by_a_few_mib(
    service: ServiceProcess, http: httpx.Client
) -> None:
    assert service.proc is not None
    memory = PeakMemory(service.proc.pid)
    warm = upload(http, 3 * MiB)  # a first upload and download warm up what every one uses
    assert download_slowly(http, warm, 0) == expected_sha256(3 * MiB)

    memory.reset()
    file = upload(http, SIZE)
    uploaded = memory.growth()
    assert (file["size"], file["sha256"]) == (SIZE, expected_sha256(SIZE))

    memory.reset()
    # About 5 ms per 64 KiB: some 2 s for the whole, far slower than the server sends.
    assert download_slowly(http, file, 0.005) == file["sha256"]
    downloaded = memory.growth()

    upload_limit = S3_GROWTH_LIMIT if "CHAT_FILES_URL" in service.env else GROWTH_LIMIT
    assert uploaded < upload_limit, f"a 25 MiB upload raised the server's memory by {uploaded / MiB:.1f} MiB"
    assert downloaded < GROWTH_LIMIT, f"a 25 MiB download raised the server's memory by {downloaded / MiB:.1f} MiB"
