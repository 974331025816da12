"""What a measured window costs: server and generator CPU, what else ran on their
cores, and latency percentiles."""

from __future__ import annotations

import gc
import os
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from load import procstat

now_ns = time.perf_counter_ns


def percentiles_ms(samples_ns: array[int] | list[int]) -> dict[str, float | None]:
    if not samples_ns:
        return {"p50_ms": None, "p99_ms": None, "p999_ms": None, "max_ms": None}
    s = sorted(samples_ns)

    def at(q: float) -> float:
        return round(s[min(len(s) - 1, int(q * len(s)))] / 1e6, 3)

    return {"p50_ms": at(0.50), "p99_ms": at(0.99), "p999_ms": at(0.999), "max_ms": round(s[-1] / 1e6, 3)}


@dataclass(frozen=True)
class Usage:
    wall_s: float
    server_cpu_s: float | None  # None: no --server-pid
    gen_cpu_s: float
    # Other processes' share of the server's and the generator's cores, in %: the noise.
    others_server_core_pct: float | None
    others_gen_core_pct: float | None
    server_cpu_each_s: list[float] | None = None  # per instance, when there are several
    side_cpu_s: dict[str, float] | None = None  # PostgreSQL's, Redis's, when asked for

    def as_dict(self) -> dict[str, Any]:
        return {
            "server_cpu_each_s": self.server_cpu_each_s,
            "side_cpu_s": self.side_cpu_s,
            "wall_s": round(self.wall_s, 3),
            "server_cpu_s": None if self.server_cpu_s is None else round(self.server_cpu_s, 3),
            "gen_cpu_s": round(self.gen_cpu_s, 3),
            "gen_cpu_pct": round(100 * self.gen_cpu_s / self.wall_s, 1) if self.wall_s > 0 else None,
            "others_server_core_pct": self.others_server_core_pct,
            "others_gen_core_pct": self.others_gen_core_pct,
        }

    def server_per(self, n: int, scale: float) -> float | None:
        """Server CPU per unit of work, in 1/scale seconds (1e6: microseconds)."""
        return None if self.server_cpu_s is None or n == 0 else round(self.server_cpu_s * scale / n, 2)

    def per_s(self, n: int) -> float | None:
        return round(n / self.wall_s, 1) if self.wall_s > 0 else None


@dataclass
class Window:
    """Server and generator CPU over a measured window, and what else ran on their cores."""

    server_pid: int | None
    gen_children: Sequence[int] = ()  # the generator's helper processes (native clients)
    more_servers: Sequence[int] = ()  # other instances of the service, on the server's cores
    side: dict[str, int] = field(default_factory=dict)  # what the servers use (PostgreSQL, Redis): name -> pid
    side0: dict[str, float] = field(default_factory=dict)
    t0: int = 0
    server0: list[float] = field(default_factory=list)
    self0: float = 0.0
    server_cores: set[int] = field(default_factory=set)
    gen_cores: set[int] = field(default_factory=set)
    busy0: tuple[float, float] = (0.0, 0.0)

    def _busy(self) -> tuple[float, float]:
        return procstat.cores_busy_seconds(self.server_cores), procstat.cores_busy_seconds(self.gen_cores)

    def _servers_cpu(self) -> list[float]:
        return [procstat.cpu_seconds(pid) for pid in [self.server_pid, *self.more_servers] if pid]

    def _gen_cpu(self) -> float:
        return procstat.self_cpu_seconds() + sum(procstat.cpu_seconds(pid) for pid in self.gen_children)

    def start(self) -> None:
        self.gen_cores = os.sched_getaffinity(0)
        self.server_cores = os.sched_getaffinity(self.server_pid) if self.server_pid else set()
        self.busy0 = self._busy()
        # A full collection over thousands of connections stalls every client for
        # tens of ms and would show up as server latency: no GC inside a window.
        gc.collect()
        gc.freeze()
        gc.disable()
        self.server0 = self._servers_cpu()
        self.side0 = {name: procstat.cpu_seconds(pid) for name, pid in self.side.items()}
        self.self0 = self._gen_cpu()
        self.t0 = now_ns()

    def stop(self) -> Usage:
        wall = (now_ns() - self.t0) / 1e9
        each = [round(b - a, 3) for a, b in zip(self.server0, self._servers_cpu(), strict=True)]
        server = sum(each) if self.server_pid else None
        gen = self._gen_cpu() - self.self0
        others: tuple[float | None, float | None] = (None, None)
        if server is not None and not self.server_cores & self.gen_cores:
            busy = self._busy()
            others = (
                round(max(0.0, busy[0] - self.busy0[0] - server) * 100 / (wall * len(self.server_cores)), 1),
                round(max(0.0, busy[1] - self.busy0[1] - gen) * 100 / (wall * len(self.gen_cores)), 1),
            )
        side = {name: round(procstat.cpu_seconds(pid) - self.side0[name], 3) for name, pid in self.side.items()}
        usage = Usage(wall, server, gen, *others, each if self.more_servers else None, side or None)
        gc.enable()
        gc.unfreeze()
        return usage
