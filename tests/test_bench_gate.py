"""bench/run.py fails a run whose generator costs more than half the server's CPU per
delivery in a saturated row (bench/README.md, "The generator gate"), and keeps the
real peers out of the default run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

# The runner's modules are top-level names under bench/ (harness, load, peers, ...):
# imported in a child process, so they shadow nothing in the test process.
# harness imports the standard library only; run needs the bench extras (picows).
PROBE = """
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
import harness
found = {"bound": harness.generator_bound(json.loads(sys.argv[2]))}
if importlib.util.find_spec("picows"):
    import run
    found["defaults"] = run.parse_args([]).scenarios
print(json.dumps(found))
"""


def probe(results: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(BENCH), json.dumps(results)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def row(target: str, mode: str, share: float) -> dict[str, Any]:
    return {"scenario": "fanout", "size": "1x100", "target": target, "mode": mode, "gen_share": share}


def test_a_saturated_row_whose_generator_costs_over_half_the_server_fails_the_run() -> None:
    found = probe({"fanout": [row("service", "saturated", 0.3), row("raw_ws", "saturated", 0.62)]})["bound"]
    assert len(found) == 1
    assert "raw_ws" in found[0] and "0.62" in found[0]


def test_rows_at_a_fixed_rate_and_cheap_generators_pass() -> None:
    results = {
        "fanout": [row("service", "saturated", 0.5), row("service", "rate", 0.9)],
        "peers": [{"step": "fanout", "target": "synapse-sqlite", "mode": "saturated", "gen_share": 0.2}],
    }
    assert probe(results)["bound"] == []


def test_the_peers_run_only_when_asked_for() -> None:
    found = probe({})
    if "defaults" not in found:
        pytest.skip("bench extras (picows) not installed: bench/run.py cannot be imported")
    defaults = found["defaults"]
    assert "peers" not in defaults
    assert "fanout" in defaults
