"""Interleaved A/B runs of bench/run.py against two revisions of the service.

    .venv/bin/python bench/ab.py --scenarios many-rooms --room-sizes 2 --mix     # HEAD~1 against the working tree
    .venv/bin/python bench/ab.py --base e12099e --head HEAD --rounds 3 --scenarios fanout --targets service

Each revision is checked out with `git worktree add` into a temp directory; the
default head, the working tree, is HEAD with the working tree's changed and
untracked files copied over as they are when ab.py starts, so edits made during
the runs do not reach them. This checkout's bench/run.py (the same harness for
both) runs with PYTHONPATH=<worktree>, so the server imports that worktree's
`service`: checked first on the import trace of a server started that way, then
on each run's own record of the checkout it ran. Runs go base, head, base, head,
... for --rounds; every option ab.py does not know goes to run.py.

With run.py's --mix (replies and mentions among many-rooms' messages), each
revision's server is asked first how it takes a message frame with `thread_seq`.
A base that ignores it (as before threads) gets the same frames: plain messages
to it. A base that refuses it runs plain many-rooms against a plain head, and the
head also runs the mix, reported on its own.

Prints one table per scenario, one row per figure: every run, the medians, head ÷
base of the medians and run by run; then each run's load and warnings (noise among
them). Every run's JSON and summary.json go to --out-dir (default
bench/results/ab-<time>/). The worktrees are removed afterwards."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
from harness import BENCH, PYTHON, REPO, server
from load.targets import ServiceTarget, close_all, open_socket, service_rooms
from report import fmt, table
from run import git, parse_args

# Per broadcast scenario: its throughput and its server CPU per unit; higher throughput is better.
BROADCAST = {
    "fanout": ("deliveries_per_s", "server_cpu_us_per_delivery"),
    "many-rooms": ("stored_per_s", "server_cpu_us_per_message"),
    "instances": ("deliveries_per_s", "server_cpu_us_per_message"),
}
UNREAD = (("reader", "p50_ms"), ("reader", "p95_ms"), ("reader", "server_cpu_p50_ms"), ("caught_up", "p50_ms"))
NOISE = ("others_server_core_pct", "healthz p50_ms")  # not the service's doing: no verdict
TOLERANCE = 0.95  # head keeps at least this share of base's throughput (costs: at most its inverse)


def git_out(*cmd: str) -> str:
    done = git(*cmd)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(cmd)}: {done.stderr.strip()}")
    return done.stdout.strip()


def overlay(dest: Path, commit: str) -> int:
    """Copy the working tree's changes against commit (deletions too) and its untracked files into dest."""
    changed = git_out("diff", "--name-only", "-z", "--no-renames", commit).split("\0")
    untracked = git_out("ls-files", "-z", "--others", "--exclude-standard").split("\0")
    paths = [p for p in changed + untracked if p]
    for path in paths:
        if (REPO / path).is_file():
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / path, dest / path)
        else:
            (dest / path).unlink(missing_ok=True)
    return len(paths)


@contextlib.contextmanager
def worktree(rev: str | None, dest: Path) -> Iterator[tuple[Path, str]]:
    """rev checked out at dest (None: HEAD and the working tree's changes), and what it is; removed on exit."""
    commit = git_out("rev-parse", "--verify", f"{rev or 'HEAD'}^{{commit}}")
    git_out("worktree", "add", "--detach", str(dest), commit)
    try:
        what = f"{rev or 'working tree'} = {commit[:10]} {git_out('log', '-1', '--format=%s', commit)[:60]}"
        if rev is None:
            what += f" + {overlay(dest, commit)} changed or new files"
        yield dest, what
    finally:
        git("worktree", "remove", "--force", str(dest))


async def thread_probe(port: int) -> str:
    """How the server takes a message frame with thread_seq: a reply, ignored, or refused."""
    target = ServiceTarget(port)
    (room,) = await service_rooms(port, 1, 1)
    ws = await open_socket(target, room)
    try:
        await target.handshake(ws, room)
        root = await answer(ws, {"type": "message", "body": "root", "client_msg_id": "probe-0"})
        reply = await answer(ws, {"type": "message", "body": "reply", "client_msg_id": "probe-1", "thread_seq": root})
    finally:
        await close_all([ws])
    if reply["type"] == "error":
        return f"rejected ({reply.get('code')}: {reply.get('detail')})"
    return "threads" if reply.get("thread_seq") == root else "ignored"


async def answer(ws: Any, frame: dict[str, Any]) -> Any:
    """The server's answer to one frame: its echo's seq, or (for a reply) the echo or error frame."""
    await ws.send(orjson.dumps(frame).decode())
    while True:
        got = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        if got["type"] == "error" or got.get("client_msg_id") == frame["client_msg_id"]:
            if "thread_seq" in frame:
                return got
            if got["type"] == "error":
                raise RuntimeError(f"the probe's message was refused: {got}")
            return got["seq"]


def check(tree: Path, options: argparse.Namespace, probe: bool) -> str:
    """Start the service as run.py does, with PYTHONPATH=tree and an import trace: its
    `service` must come from tree. Then, if asked, how it takes thread_seq."""
    try:
        with server("service", options, PYTHONPATH=str(tree), PYTHONVERBOSE="1") as srv:
            trace = srv.log.read_text(errors="replace")
            if f"{tree}/service/__init__.py" not in trace or f"{REPO}/service/" in trace:
                raise SystemExit(f"the server started with PYTHONPATH={tree} did not import its service: {srv.log}")
            return asyncio.run(thread_probe(srv.port)) if probe else "not asked"
    except RuntimeError:  # again without the import trace, which buries the error in the log's tail
        with server("service", options, PYTHONPATH=str(tree)):
            raise


def without_mix(options: Sequence[str]) -> list[str]:
    out, skip = [], False
    for i, option in enumerate(options):
        if skip:
            skip = False
        elif option == "--mix":
            skip = i + 1 < len(options) and not options[i + 1].startswith("-")
        elif not option.startswith("--mix="):
            out.append(option)
    return out


def run_once(tree: Path, options: Sequence[str], out: Path) -> dict[str, Any]:
    """bench/run.py against tree's service; its results, or {"error": …}."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [PYTHON, str(BENCH / "run.py"), *options, "--out", str(out)], env=env, stdout=subprocess.DEVNULL
    )
    if done.returncode != 0 or not out.exists():
        return {"error": f"run.py exit {done.returncode}"}
    result: dict[str, Any] = json.loads(out.read_text())
    if result["meta"]["service_checkout"] != str(tree):
        raise SystemExit(f"run {out.name} measured {result['meta']['service_checkout']}, not {tree}")
    return result


def figures(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The figures of one run.py result, by scenario then name."""
    found: dict[str, dict[str, float]] = {}
    for name, (speed, cost) in BROADCAST.items():
        for r in result.get(name) or []:
            if "error" in r:
                continue
            label = f"{r.get('size', '')} {r['target']} {r.get('mode', '')}"
            label += f" ×{r['instances']}" if r.get("instances") else ""
            shown = found.setdefault(name, {})
            # At a fixed rate the throughput is the rate asked for: latency instead.
            rate = r.get("mode") == "rate"
            for metric in ("p99_ms" if rate else speed, cost, "others_server_core_pct"):
                if metric and r.get(metric) is not None:
                    shown[f"{label}: {metric}"] = r[metric]
            others = r.get("others_server_core_pct")
            if r.get("mode") == "saturated" and r.get(speed) and others is not None and others < 95:
                # On a shared machine throughput follows the share of the core the others leave.
                shown[f"{label}: {speed} per free core"] = round(r[speed] / (1 - others / 100), 1)
    unread = result.get("unread") or {}
    for phase in unread.get("phases", []):
        if "error" not in phase:
            shown = found.setdefault("unread", {})
            for part, metric in (*UNREAD, ("healthz", "p50_ms")):
                shown[f"{phase['phase']}: {part} {metric}"] = phase[part][metric]
            shown[f"{phase['phase']}: others_server_core_pct"] = phase["others_server_core_pct"]
    return found


def verdict(name: str, ratio: float | None) -> str:
    if ratio is None or any(n in name for n in NOISE):
        return ""
    faster = name.endswith("_per_s") or name.endswith("per free core")
    fine = ratio >= TOLERANCE if faster else ratio <= 1 / TOLERANCE
    return "ok" if fine else "WORSE"


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    per_run = {label: [figures(r) for r in results] for label, results in runs.items()}
    scenarios = dict.fromkeys(s for found in per_run.values() for f in found for s in f)
    out: dict[str, list[dict[str, Any]]] = {}
    for scenario in scenarios:
        names = dict.fromkeys(n for found in per_run.values() for f in found for n in f.get(scenario, {}))
        for name in names:
            row: dict[str, Any] = {"figure": name}
            for label, found in per_run.items():
                values = [f[scenario][name] for f in found if name in f.get(scenario, {})]
                row[f"{label} runs"] = ", ".join(fmt(v) for v in values)
                row[label] = statistics.median(values) if values else None
            base, head = row.get("base"), row.get("head")
            row["ratio"] = round(head / base, 3) if base and head is not None else None
            pairs = zip(per_run["base"], per_run["head"], strict=False)
            row["paired"] = ", ".join(
                f"{h[scenario][name] / b[scenario][name]:.3f}"
                for b, h in pairs
                if b.get(scenario, {}).get(name) and name in h.get(scenario, {})
            )
            row["verdict"] = verdict(name, row["ratio"])
            out.setdefault(scenario, []).append(row)
    return out


def markdown(summary: dict[str, list[dict[str, Any]]], runs: dict[str, list[dict[str, Any]]], head: list[str]) -> str:
    labels = list(runs)
    columns = [("figure", "figure")] + [(f"{label} runs", f"{label} runs") for label in labels]
    columns += [(label, f"{label} median") for label in labels]
    columns += [("ratio", "head ÷ base (medians)"), ("paired", "head ÷ base run by run"), ("verdict", "≥ 0.95×")]
    parts = ["## A/B: " + head[0], "\n".join(f"- {line}" for line in head[1:])]
    for scenario, rows in summary.items():
        parts += [f"### {scenario}", table(rows, columns)]
    parts += ["### Runs", "| run | load average before → after | timer lateness p99 ms | s |\n|---|---|---|---|"]
    warned = []
    for i in range(len(runs["base"])):  # in the order they ran
        for label, results in runs.items():
            r, meta = results[i], results[i].get("meta", {})
            load = f"{' '.join(meta.get('loadavg_before', []))} → {' '.join(meta.get('loadavg_after', []))}"
            late = ", ".join(f"{k} {v}" for k, v in meta.get("timer_lateness_p99_ms", {}).items())
            parts[-1] += f"\n| {label} {i + 1} | {load} | {late} | {meta.get('elapsed_s', '–')} |"
            warned += [f"{label} {i + 1}: {w}" for w in ([r["error"]] if "error" in r else r.get("warnings", []))]
    parts += ["### Warnings", "\n".join(f"- {w}" for w in warned) or "none"]
    return "\n\n".join(parts) + "\n"


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    p.add_argument("--base", default="HEAD~1", help="the revision compared against (default HEAD~1)")
    p.add_argument("--head", help="the revision measured (default: the working tree, as it is at the start)")
    p.add_argument("--rounds", type=int, default=2, help="runs of each revision, interleaved base, head, …")
    p.add_argument("--out-dir", type=Path, help="default bench/results/ab-<time>/")
    args, run_args = p.parse_known_args(argv)
    run_args = run_args[1:] if run_args[:1] == ["--"] else run_args
    options = parse_args(run_args)  # run.py's own check of its options, and the check server's settings
    if "--out" in run_args:
        p.error("--out is ab.py's to choose (see --out-dir)")
    mix = bool(options.mix) and "many-rooms" in options.scenarios
    out_dir = args.out_dir or BENCH / "results" / f"ab-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    os.sched_setaffinity(0, {options.client_core})  # the servers have the other core
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp, contextlib.ExitStack() as stack:
        trees = {
            label: stack.enter_context(worktree(rev, Path(tmp) / label))
            for label, rev in (("base", args.base), ("head", args.head))
        }
        head = [f"{args.rounds} rounds, run.py {' '.join(run_args)}"]
        probes = {}
        for label, (tree, what) in trees.items():
            print(f"checking {label}: {what}", file=sys.stderr, flush=True)
            probes[label] = check(tree, options, mix)
            head.append(f"{label}: {what}; its server imports `service` from {tree}/service (import trace)")
            if mix:
                head[-1] += f"; a message frame with thread_seq: {probes[label]}"
        plan = [(label, tree, run_args) for label, (tree, _) in trees.items()]
        if mix and probes["base"].startswith("rejected"):
            plain = without_mix(run_args)
            plan = [("base", trees["base"][0], plain), ("head", trees["head"][0], plain)]
            plan.append(("head mix", trees["head"][0], run_args))
            head.append("the base refuses thread_seq: base and head compared on plain many-rooms, the mix on head only")
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in plan}
        for i in range(1, args.rounds + 1):
            for label, tree, run_options in plan:
                print(f"[{time.strftime('%H:%M:%S')}] round {i}: {label}", file=sys.stderr, flush=True)
                runs[label].append(run_once(tree, run_options, out_dir / f"{label.replace(' ', '-')}-{i}.json"))
    summary = summarize(runs)
    (out_dir / "summary.json").write_text(json.dumps({"head": head, "figures": summary}, indent=2) + "\n")
    print(markdown(summary, runs, head))
    print(f"results: {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
