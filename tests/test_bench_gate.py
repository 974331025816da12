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


# bench/scenarios/fanout.py's run(), its servers and load client replaced: which rows
# it measures, given each target's saturated rate.
FANOUT = """
import argparse, contextlib, importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("fanout", sys.argv[1] + "/scenarios/fanout.py")
fanout = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fanout)
saturated = json.loads(sys.argv[2])
asked = []

@contextlib.contextmanager
def server(target, args, **env):
    yield target

def broadcast(args, srv, rooms, size, mode, inflight, rate):
    asked.append([srv, mode])
    return {"target": srv, "mode": mode, "msgs_per_s": saturated[srv] if mode == "saturated" else rate}

fanout.server, fanout.broadcast = server, broadcast
fanout.fixed_rate = lambda args, given, sat: sat["msgs_per_s"] / 2
args = argparse.Namespace(fanout_sizes=[100], fanout_rate=None, targets=list(saturated), fanout_inflight=16, settle=0)
rows = fanout.run(args)
print(json.dumps({"asked": asked, "rows": [[r["target"], r["mode"]] for r in rows]}))
"""


def test_fanout_runs_no_rate_row_for_a_reference_that_saturates_below_the_rate() -> None:
    saturated = {"service": 2000.0, "raw_ws": 900.0, "picows": 1500.0}
    done = subprocess.run(
        [sys.executable, "-c", FANOUT, str(BENCH), json.dumps(saturated)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    # The rate is half the service's saturated 2,000 msg/s: raw_ws cannot hold 1,000.
    assert ["raw_ws", "rate"] not in found["asked"]
    assert ["picows", "rate"] in found["asked"] and ["service", "rate"] in found["asked"]
    held = [row for row in found["rows"] if row[1] not in ("saturated", "rate")]
    assert [row[0] for row in held] == ["raw_ws"]
    assert len(found["rows"]) == 6
