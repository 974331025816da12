"""Interleaved A/B runs of bench/run.py against two (or more) checkouts of the service.

Each label names a Python interpreter whose environment has the service installed
(a checkout's .venv, editable install); bench/run.py is this one, so the harness is
the same and only the service differs. Runs go A, B, A, B, ... (--order abba: A, B,
B, A, ... so a drift over time weighs on both alike), each a fresh server and
database; the summary gives each metric's median per label, every run's value, and
the ratio of each label's median to the first label's.

    .venv/bin/python bench/ab.py --runs 4 \\
        --label old=../wt-old/.venv/bin/python --label new=.venv/bin/python \\
        -- --scenarios many-rooms --room-sizes 2 --rooms-saturated-only

The same checkout with and without the search index (what the index costs a write):

    .venv/bin/python bench/ab.py --label nosearch=.venv/bin/python --label new=.venv/bin/python \\
        --label-args nosearch=--without-search-index -- --scenarios many-rooms --room-sizes 2

Results: one JSON per run and summary.json in --out-dir (default bench/results/ab-<time>/);
the markdown summary on stdout."""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent

# Per many-rooms row: what throughput, CPU and latency did.
ROOM_METRICS = ("stored_per_s", "server_cpu_us_per_message", "p50_ms", "p99_ms", "others_server_core_pct")
UNREAD_METRICS = (
    ("reader", "p50_ms"),
    ("reader", "p95_ms"),
    ("reader", "p50_minus_healthz_ms"),
    ("reader", "server_cpu_p50_ms"),
    ("reader", "server_cpu_p95_ms"),
    ("reader", "db_cpu_p50_ms"),
    ("caught_up", "p50_ms"),
    ("caught_up", "p95_ms"),
    ("healthz", "p50_ms"),
    ("query_in_process", "count_p50_ms"),
)


def metrics(results: dict[str, Any]) -> dict[str, float]:
    """The figures of one run.py result compared across labels, by name."""
    found: dict[str, float] = {}
    for row in results.get("many-rooms", []):
        if "error" in row:
            continue
        for metric in ROOM_METRICS:
            if row.get(metric) is not None:
                found[f"many-rooms {row['size']} {row['mode']}: {metric}"] = row[metric]
        # What the server stored per share of its core the rest of the machine left it: on a shared
        # machine, throughput follows that share (1 - others on the server core).
        others, stored = row.get("others_server_core_pct"), row.get("stored_per_s")
        if others is not None and stored is not None and others < 95:
            found[f"many-rooms {row['size']} {row['mode']}: stored_per_s_per_free_core"] = round(
                stored / (1 - others / 100), 1
            )
    unread = results.get("unread") or {}
    for phase in unread.get("phases", []):
        for part, metric in UNREAD_METRICS:
            value = (phase.get(part) or {}).get(metric)
            if value is not None:
                found[f"unread {unread['database']} {phase['phase']}: {part} {metric}"] = value
    return found


def order(labels: Sequence[str], runs: int, pattern: str, first: int = 0) -> list[tuple[int, str]]:
    rounds = []
    for i in range(first, first + runs):
        names = list(labels) if pattern == "abab" or i % 2 == 0 else list(reversed(labels))
        rounds += [(i, name) for name in names]
    return rounds


def median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 2)


def summarize(runs: dict[str, list[tuple[int, dict[str, Any]]]]) -> dict[str, Any]:
    """runs: per label, (round, run.py result) pairs."""
    labels = list(runs)
    per_label = {label: {i: metrics(r) for i, r in rs} for label, rs in runs.items()}
    names = list(dict.fromkeys(name for ms in per_label.values() for m in ms.values() for name in m))
    rows = []
    for name in names:
        row: dict[str, Any] = {"metric": name}
        for label in labels:
            values = [m[name] for m in per_label[label].values() if name in m]
            row[label] = {"median": median(values) if values else None, "runs": values}
        base = row[labels[0]]["median"]
        for label in labels[1:]:
            value = row[label]["median"]
            row[f"{label}/{labels[0]}"] = round(value / base, 3) if value is not None and base else None
            # Round by round: each run against the first label's run next to it in time.
            paired = [
                m[name] / per_label[labels[0]][i][name]
                for i, m in per_label[label].items()
                if name in m and name in per_label[labels[0]].get(i, {}) and per_label[labels[0]][i][name]
            ]
            row[f"{label}/{labels[0]} paired"] = round(statistics.median(paired), 3) if paired else None
        rows.append(row)
    commits = {label: sorted({r["meta"]["git_head"][:10] for _, r in rs}) for label, rs in runs.items()}
    dirty = {label: any(r["meta"]["service_dirty"] for _, r in rs) for label, rs in runs.items()}
    return {"labels": labels, "commits": commits, "service_dirty": dirty, "rows": rows}


def markdown(summary: dict[str, Any]) -> str:
    labels = summary["labels"]
    head = ", ".join(
        f"{label} = {'/'.join(summary['commits'][label])}{' + changes' if summary['service_dirty'][label] else ''}"
        for label in labels
    )
    columns = ["metric"] + [f"{label} median (runs)" for label in labels]
    columns += [f"{x} ÷ {labels[0]} (medians; median of paired runs)" for x in labels[1:]]
    lines = [head, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in summary["rows"]:
        cells = [row["metric"]]
        for label in labels:
            part = row[label]
            cells.append(f"{part['median']} ({', '.join(str(v) for v in part['runs'])})")
        cells += [f"{row[f'{label}/{labels[0]}']}; {row[f'{label}/{labels[0]} paired']}" for label in labels[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def label_python(text: str) -> tuple[str, str]:
    label, sep, python = text.partition("=")
    if not sep or not label or not python:
        raise argparse.ArgumentTypeError("expected LABEL=PYTHON")
    return label, python


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--label", type=label_python, action="append", required=True, metavar="LABEL=PYTHON")
    p.add_argument(
        "--label-args",
        type=label_python,
        action="append",
        default=[],
        metavar="LABEL=OPTIONS",
        help="more bench/run.py options for one label's runs (e.g. nosearch=--without-search-index)",
    )
    p.add_argument("--runs", type=int, default=4, help="runs per label")
    p.add_argument("--order", choices=("abab", "abba"), default="abab")
    p.add_argument("--first-run", type=int, default=0, help="number the runs from here (add rounds to --out-dir)")
    p.add_argument("--out-dir", type=Path)
    p.add_argument("--summarize", type=Path, metavar="DIR", help="only summarize the runs already in DIR")
    p.add_argument("run_args", nargs=argparse.REMAINDER, help="-- then bench/run.py's options")
    args = p.parse_args(argv)
    labels = dict(args.label)
    label_args = {label: shlex.split(options) for label, options in args.label_args}
    if len(labels) < 2:
        p.error("give at least two --label")
    run_args = args.run_args[1:] if args.run_args[:1] == ["--"] else args.run_args
    out_dir = args.summarize or args.out_dir or BENCH / "results" / f"ab-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    if not args.summarize:
        for i, label in order(list(labels), args.runs, args.order, args.first_run):
            out = out_dir / f"{label}-{i}.json"
            print(f"[{time.strftime('%H:%M:%S')}] run {i + 1} of {label}", file=sys.stderr, flush=True)
            done = subprocess.run(
                [labels[label], str(BENCH / "run.py"), *run_args, *label_args.get(label, []), "--out", str(out)],
                stdout=subprocess.DEVNULL,
            )
            if done.returncode != 0:
                print(f"  {label} run {i} failed: exit {done.returncode}", file=sys.stderr)
    runs = {
        label: [
            (run_number(f), json.loads(f.read_text())) for f in sorted(out_dir.glob(f"{label}-*.json"), key=run_number)
        ]
        for label in labels
    }
    summary = summarize(runs)
    summary["run_args"] = run_args
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(markdown(summary))
    print(f"results: {out_dir}")
    return 0


def run_number(path: Path) -> int:
    return int(path.stem.rsplit("-", 1)[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
