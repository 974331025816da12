"""Two `chat-service serve` processes on one PostgreSQL database, one Redis and one
S3 bucket (moto): a file uploaded through one is served by the other, to those
who may read it, and to no one else."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, ServiceProcess
from tests.files.conftest import S3Server
from tests.files.test_images import image_bytes
from tests.scale.conftest import TIMEOUT, cluster_env  # noqa: F401 - the cluster's fixture

pytestmark = pytest.mark.slow


@pytest.fixture
def two(
    cluster_env: dict[str, str],  # noqa: F811 - the fixture imported above
    s3_server: S3Server,
    tmp_path: Path,
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    env = {
        **cluster_env,
        **s3_server.env,
        "CHAT_FILES_URL": f"s3://{s3_server.bucket}/{uuid.uuid4().hex[:12]}",
        "CHAT_S3_ENDPOINT_URL": s3_server.endpoint,
        "CHAT_S3_REGION": "us-east-1",
    }
    with ServiceProcess(env, tmp_path) as a, ServiceProcess(env, tmp_path) as b:
        yield a, b


class Person:
    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}

    def on(self, instance: ServiceProcess) -> httpx.Client:
        return httpx.Client(base_url=f"{instance.base}/api/v1", headers=self.headers, timeout=TIMEOUT)


def person(instance: ServiceProcess, username: str) -> Person:
    with httpx.Client(base_url=f"{instance.base}/api/v1", timeout=TIMEOUT) as http:
        assert http.post("/auth/register", json={"username": username, "password": PASSWORD}).status_code == 201
        r = http.post("/auth/token", data={"username": username, "password": PASSWORD})
        return Person(r.json()["access_token"])


def fetched(who: Person, instance: ServiceProcess, file: dict) -> dict[str, int | bytes]:
    """What each of the file's URLs answers `who` on `instance`: the bytes, or the status."""
    answers: dict[str, int | bytes] = {}
    with who.on(instance) as http:
        for name, path in (("file", ""), ("content", "/content"), ("thumbnail", "/thumbnail")):
            r = http.get(f"/files/{file['id']}{path}")
            answers[name] = r.content if r.status_code == 200 else r.status_code
    return answers


def test_a_file_uploaded_through_one_instance_is_served_by_the_other_to_readers_only(
    two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = two
    alice, bob, carol = person(a, "alice"), person(b, "bob"), person(a, "carol")
    data = image_bytes((1200, 800), "PNG")
    with alice.on(a) as http:
        file = http.post("/files", files={"file": ("photo.png", data)}).json()
        thumbnail = http.get(f"/files/{file['id']}/thumbnail").content
    assert file["sha256"] == hashlib.sha256(data).hexdigest() and file["thumbnail_url"] is not None

    # Unattached, on either instance: its uploader only.
    for instance in (a, b):
        assert fetched(alice, instance, file)["content"] == data
        assert fetched(alice, instance, file)["thumbnail"] == thumbnail
        assert set(fetched(bob, instance, file).values()) == {404}

    with alice.on(b) as http:
        room = http.post("/rooms", json={"name": "private", "private": True}).json()
        assert http.post(f"/rooms/{room['id']}/members", json={"username": "bob"}).status_code == 201
        sent = http.post(f"/rooms/{room['id']}/messages", json={"body": "look", "files": [file["id"]]})
        assert sent.status_code == 201, sent.text
        assert [f["id"] for f in sent.json()["files"]] == [file["id"]]

    # Attached in a private room: its members on either instance, nobody else anywhere.
    for instance in (a, b):
        assert fetched(bob, instance, file) == fetched(alice, instance, file)
        answers = fetched(bob, instance, file)
        assert (answers["content"], answers["thumbnail"]) == (data, thumbnail)
        assert set(fetched(carol, instance, file).values()) == {404}
