"""Every files test runs on both storages: a local directory, and S3 on a moto server
started for the run (its own bucket); each test gets its own directory or prefix.
SQLite only unless a test asks for PostgreSQL too (`on_both_databases`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from service.config import Settings
from tests.conftest import database_for, free_port, make_settings, require_service

on_both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    env: dict[str, str]  # what a client of it needs: credentials and region


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto in server mode on a free port, with a bucket of this run's own."""
    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        require_service("moto (pip install 'moto[server]')", exc)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    endpoint = f"http://127.0.0.1:{port}"
    bucket = f"chat-files-{uuid.uuid4().hex[:12]}"
    try:
        server.start()
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        s3.create_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot start"
        server.stop()
        require_service("moto's S3 server", exc)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # read by the service's S3 client in this process
    try:
        yield S3Server(endpoint, bucket, env)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()


@pytest.fixture(params=["local", "s3"])
def files_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    """The files settings of one storage backend, empty for this test."""
    if request.param == "local":
        return {"files_url": str(tmp_path / "files")}
    server: S3Server = request.getfixturevalue("s3_server")
    return {
        "files_url": f"s3://{server.bucket}/{uuid.uuid4().hex[:12]}",
        "s3_endpoint_url": server.endpoint,
        "s3_region": "us-east-1",
    }


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_template: Path) -> str:
    """SQLite; PostgreSQL too where a test says `on_both_databases`."""
    return database_for(request, tmp_path, migrated_template)


@pytest.fixture
def settings(database_url: str, files_settings: dict[str, object]) -> Settings:
    return make_settings(database_url, **files_settings)


class Files:
    """Upload and fetch helpers over the app's client."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def upload(
        self, headers: dict[str, str], content: bytes, filename: str = "a.bin", *, field: str = "file"
    ) -> httpx.Response:
        return await self.client.post("/files", files={field: (filename, content)}, headers=headers)

    async def uploaded(self, headers: dict[str, str], content: bytes, filename: str = "a.bin") -> dict:
        r = await self.upload(headers, content, filename)
        assert r.status_code == 201, r.text
        return r.json()

    async def content(self, headers: dict[str, str], file: dict, **extra: str) -> httpx.Response:
        return await self.client.get(f"/files/{file['id']}/content", headers={**headers, **extra})


@pytest.fixture
def files(client: httpx.AsyncClient) -> Files:
    return Files(client)


async def body_of(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])
