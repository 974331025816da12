"""The files routes answer as /openapi.json says, on files that exist too.

tests/test_schemathesis.py covers every operation, but its generated ids almost
never name a file and its uploads soon meet the upload rate limit. Here the
uploader has files of every kind served (an image with a thumbnail, one without,
a file served as an attachment), another user's file is among the ids tried, and
the rate limit is out of the way; downloads are also tried with well-formed
ranges and the files' own ETags beside the generated headers."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.python.asgi import get_client, shutdown_lifespans
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.main import create_app
from tests.conftest import PASSWORD, make_settings, state_of
from tests.files.test_images import image_bytes
from tests.test_schemathesis import CHECKS

pytestmark = pytest.mark.slow

# The seeded files, in the order they are uploaded on a fresh database: ids 1 to 4.
SEEDED = {
    "alice": [("photo.png", image_bytes((600, 300), "PNG")), ("notes.txt", b"plain words\n" * 100)],
    "bob": [("bobs.gif", image_bytes((20, 20), "GIF")), ("page.html", b"<html><script>alert(1)</script>")],
}
SEEDED_IDS = [str(n) for n in range(1, 5)]
ETAGS = [f'"{hashlib.sha256(content).hexdigest()}"' for uploads in SEEDED.values() for _, content in uploads]
OFFSETS = st.integers(min_value=0, max_value=2000).map(str)
RANGES = st.one_of(
    st.tuples(OFFSETS, OFFSETS).map(lambda ab: f"bytes={ab[0]}-{ab[1]}"),
    OFFSETS.map(lambda a: f"bytes={a}-"),
    OFFSETS.map(lambda n: f"bytes=-{n}"),
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[FastAPI]:
    directory = tmp_path_factory.mktemp("files-schemathesis")
    shutil.copyfile(migrated_template, directory / "chat.db")
    app = create_app(
        make_settings(
            f"sqlite+aiosqlite:///{directory / 'chat.db'}",
            files_url=str(directory / "files"),
            file_upload_limit_per_user="1000000/hour",
        )
    )
    with get_client(app) as client:
        ids = []
        for name, uploads in SEEDED.items():
            created = client.post("/api/v1/auth/register", json={"username": name, "password": PASSWORD})
            token = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD}).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            for filename, content in uploads:
                r = client.post("/api/v1/files", files={"file": (filename, content)}, headers=headers)
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
            if name == "alice":
                app.state.tested_user_id = created.json()["id"]
        assert ids == SEEDED_IDS
    try:
        yield app
    finally:
        shutdown_lifespans()


schema = schemathesis.openapi.from_dict(create_app(make_settings("sqlite+aiosqlite:///unused.db")).openapi()).include(
    path_regex=r"^/api/v1/files"
)


@schema.hook
def before_generate_path_parameters(_context: schemathesis.HookContext, strategy: Any) -> Any:
    """Half the ids tried name a seeded file: alice's own, or bob's (404 for her)."""
    return st.one_of(strategy, st.fixed_dictionaries({"file_id": st.sampled_from(SEEDED_IDS)}))


@schema.hook
def before_generate_headers(context: schemathesis.HookContext, strategy: Any) -> Any:
    if context.operation is None or not context.operation.path.endswith("/content"):
        return strategy
    ranged = st.fixed_dictionaries({}, optional={"Range": RANGES, "If-None-Match": st.sampled_from(ETAGS)})
    return st.one_of(strategy, ranged)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_files_routes_answer_as_documented(case: schemathesis.Case, app: FastAPI) -> None:
    token = state_of(app).codec.issue(app.state.tested_user_id, "access").token
    checks = CHECKS
    if case.operation.path.endswith("/content"):
        # A well-formed range past the end is answered 416, as documented: not a rejection.
        checks = [check for check in CHECKS if check is not positive_data_acceptance]
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {token}"}, checks=checks)
