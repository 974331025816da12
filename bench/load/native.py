"""The load client's listening sockets in C.

bench/native/wsrecv.c holds every client that only listens in one epoll loop, so a
delivery costs the generator a fraction of a microsecond and the figures measure the
server. Senders stay Python sockets (picows_client.py): their echo paces the
saturated mode.
The binary is built with the system's C compiler on first use, into bench/.build/."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from array import array
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
SOURCE = BENCH / "native" / "wsrecv.c"
BINARY = BENCH / ".build" / "wsrecv"


def build() -> Path:
    if BINARY.exists() and BINARY.stat().st_mtime >= SOURCE.stat().st_mtime:
        return BINARY
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("the load client needs a C compiler (cc or gcc, or CC=...)")
    BINARY.parent.mkdir(exist_ok=True)
    subprocess.run([cc, "-O2", "-o", str(BINARY), str(SOURCE)], check=True)
    return BINARY


@dataclass
class Listened:
    """What one listening client made of its connection."""

    last_seq: int
    seq_errors: int
    close_code: int
    counts: bytearray  # counts[n]: deliveries of message n, capped at 255


@dataclass
class Results:
    clients: list[Listened]
    latencies: array[int]
    other_frames: int


class NativeListeners:
    def __init__(self, port: int, pause_us: int) -> None:
        self.port, self.pause_us = port, pause_us
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            str(build()), "127.0.0.1", str(self.port), str(self.pause_us), stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def add(self, path: str, start_seq: int, wait_synced: bool, socketio_room: str = "") -> None:
        """One more client of the room at `path`, its last seen seq `start_seq`; with
        `socketio_room`, a Socket.IO client that joins that room."""
        if socketio_room:
            self._write(f"C 0 2 {path} {socketio_room}")
        else:
            self._write(f"C {start_seq} {int(wait_synced)} {path}")

    async def connect(self) -> tuple[int, int]:
        """Open every client added; how many are live and how many failed."""
        _, ok, failed = (await self._ask("GO")).split()
        return int(ok), int(failed)

    async def progress(self) -> tuple[int, int]:
        """Deliveries so far and the perf_counter_ns of the last one."""
        _, delivered, last = (await self._ask("Q")).split()
        return int(delivered), int(last)

    async def end(self) -> Results:
        """Close every client and collect what each one counted."""
        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout
        _, n_clients, n_latencies, other = (await self._ask("END")).split()
        clients = []
        for _ in range(int(n_clients)):
            last_seq, errors, code, n_counts = (await out.readline()).split()
            counts = bytearray(await out.readexactly(int(n_counts)))
            clients.append(Listened(int(last_seq), int(errors), int(code), counts))
        latencies = array("q")
        latencies.frombytes(await out.readexactly(int(n_latencies) * latencies.itemsize))
        await self._proc.wait()
        return Results(clients, latencies, int(other))

    def _write(self, line: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(line.encode() + b"\n")

    async def _ask(self, command: str) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        self._write(command)
        return (await self._proc.stdout.readline()).decode()


class NativePool:
    """Listeners spread over several servers (instances on one database and broker):
    one C process per port, results in the order the clients were added."""

    def __init__(self, ports: list[int], pause_us: int) -> None:
        self._by_port = {port: NativeListeners(port, pause_us) for port in ports}
        self._order: list[int] = []  # the port of each client added

    async def start(self) -> None:
        for listeners in self._by_port.values():
            await listeners.start()

    @property
    def pids(self) -> list[int]:
        return [listeners.pid for listeners in self._by_port.values()]

    def add(self, port: int, path: str, start_seq: int, wait_synced: bool, socketio_room: str = "") -> None:
        self._by_port[port].add(path, start_seq, wait_synced, socketio_room)
        self._order.append(port)

    async def connect(self) -> tuple[int, int]:
        results = [await listeners.connect() for listeners in self._by_port.values()]
        return sum(ok for ok, _ in results), sum(failed for _, failed in results)

    async def progress(self) -> tuple[int, int]:
        results = [await listeners.progress() for listeners in self._by_port.values()]
        return sum(n for n, _ in results), max(last for _, last in results)

    async def end(self) -> Results:
        ended = {port: await listeners.end() for port, listeners in self._by_port.items()}
        taken = dict.fromkeys(ended, 0)
        clients = []
        for port in self._order:
            clients.append(ended[port].clients[taken[port]])
            taken[port] += 1
        latencies = array("q")
        for results in ended.values():
            latencies.extend(results.latencies)
        return Results(clients, latencies, sum(r.other_frames for r in ended.values()))
