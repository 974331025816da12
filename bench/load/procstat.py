"""CPU time and memory of a process tree, read from /proc (Linux only)."""

from __future__ import annotations

import os
import resource

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat from field 3 (state) on; comm may hold spaces."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    return data[data.rindex(")") + 2 :].split()


def tree(pid: int) -> list[int]:
    """pid and its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat(int(entry))[1])
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < 10_000:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of pid and its descendants, including children already reaped
    (cutime + cstime), so a window's difference covers everything the server ran."""
    ticks = 0
    for p in tree(pid):
        try:
            fields = _stat(p)
        except OSError:
            continue
        # fields[11..14] are stat fields 14..17: utime, stime, cutime, cstime.
        ticks += sum(int(x) for x in fields[11:15])
    return ticks / CLK_TCK


def rss_kib(pid: int) -> int:
    """VmRSS of pid and its descendants, in KiB."""
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def cores_busy_seconds(cores: set[int]) -> float:
    """Time the given cores spent busy (anyone's work, steal included), from /proc/stat."""
    total = 0
    with open("/proc/stat") as f:
        for line in f:
            name, *values = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cores:
                user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in values[:8])
                total += user + nice + system + irq + softirq + steal
    return total / CLK_TCK


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raise_nofile(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE to at least `wanted` (and the hard one if we may);
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if wanted > hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            wanted = hard
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    return soft
