"""The client's state and socket modules under Node's own test runner (tests/web/node),
without a browser: the convergence rule, ordering by seq across reconnects and replays,
unread, the outbox's resends, threads, pins and mention counts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

NODE_TESTS = Path(__file__).parent / "node"


def test_state_modules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    files = sorted(str(path) for path in NODE_TESTS.glob("*.test.mjs"))
    done = subprocess.run([node, "--test", *files], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
