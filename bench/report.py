"""What the scenarios' reports share: markdown tables, the broadcast table, and the
warnings every row of a load scenario can raise (losses, a client-bound or noisy
window)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# The generator must cost at most this share of the server's CPU per delivery, or the
# figures measure the generator.
GEN_SHARE_MAX = 0.5
CLIENT_BOUND_PCT = 85  # generator CPU above this: the client, not the server, set the pace
NOISY_PCT = 10  # other processes used more than this of the server's or generator's core

BROADCAST_COLUMNS = [
    ("size", "rooms x clients"),
    ("target", "server"),
    ("mode", "mode"),
    ("rate_target", "rate msg/s"),
    ("msgs_per_s", "sent msg/s"),
    ("deliveries_per_s", "deliveries/s"),
    ("stored_per_s", "stored msg/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("max_ms", "max ms"),
    ("server_cpu_us_per_delivery", "srv CPU µs/delivery"),
    ("server_cpu_pct", "srv CPU %"),
    ("gen_cpu_pct", "gen CPU %"),
    ("gen_share", "gen ÷ srv CPU/delivery"),
    ("others_server_core_pct", "others on srv core %"),
    ("lost", "lost"),
    ("duplicated", "dup"),
]


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    lines = ["| " + " | ".join(title for _, title in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(key)) for key, _ in columns) + " |")
    return "\n".join(lines)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def good(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if "error" not in r]


def noisy(label: str, r: dict[str, Any]) -> list[str]:
    found = []
    for field, core in (("others_server_core_pct", "server"), ("others_gen_core_pct", "generator")):
        if (r.get(field) or 0) > NOISY_PCT:
            found.append(f"{label}: other processes took {r[field]}% of the {core} core: noisy, rerun to confirm")
    return found


def row_warnings(key: str, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Failures, losses, a client-bound generator and noise in a load scenario's rows."""
    found = []
    for r in rows:
        label = f"{key} {r.get('size', '')} {r['target']} {r.get('mode', '')}".replace("  ", " ")
        label += f" ({r['instances']} instances)" if r.get("instances") else ""
        if "error" in r:
            found.append(f"{label}: FAILED: {r['error']}")
            continue
        for field in ("lost", "duplicated", "unexpected", "seq_errors", "dropped_connections", "failed"):
            if r.get(field):
                found.append(f"{label}: {field} = {r[field]}")
        if r.get("other_frames"):
            found.append(f"{label}: {r['other_frames']} non-message frames (errors) received")
        if key != "idle" and (r.get("gen_cpu_pct") or 0) > CLIENT_BOUND_PCT:
            found.append(f"{label}: generator at {r['gen_cpu_pct']}% CPU: client-bound, the server may do more")
        if (r.get("gen_share") or 0) > GEN_SHARE_MAX:
            found.append(f"{label}: the generator costs {r['gen_share']}× the server's CPU per delivery")
        found += noisy(label, r)
    return found


def failed(key: str, result: dict[str, Any]) -> list[str]:
    return [f"{key}: FAILED: {result['error']}"] if "error" in result else []
