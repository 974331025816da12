"""Load generator for the chat service and the reference peers (bench/peers/).

One subcommand per scenario; each prints one JSON object (its results) as the last
line of stdout. bench/run.py runs it pinned to its own core, but it also runs on
its own against a server you started, e.g.

    python bench/loadgen.py broadcast --target raw_ws --port 8765 --rooms 1 --clients-per-room 100

Every message body is "<sender>:<n>:<t_ns>:<padding>", t_ns being this process's
perf_counter_ns() at the (scheduled) send; latency is the receiving client's
perf_counter_ns() minus it. Each receiving client counts which n it got from its
room's sender, which gives lost and duplicated deliveries.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import secrets
import sys
import time
from array import array
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import procstat
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

TARGETS = ("service", "raw_ws", "bare_fastapi", "socketio", "picows")
# websockets; picows (Cython framing, a callback per frame: about half the CPU per
# delivery); native: senders on picows, every other client in one C epoll loop
# (native_client.py), so the generator costs well under the server it measures.
CLIENTS = ("websockets", "picows", "native")
PASSWORD = "bench-password-1"
CONNECT_CONCURRENCY = 64  # keeps handshakes well under every listen backlog
MAX_BODY_SIZE = 4000
# Presence and typing frames the service sends besides messages.
EPHEMERAL_FRAMES = ("presence", "typing")
MESSAGE_PREFIX = '{"type":"message",'

now_ns = time.perf_counter_ns
if TYPE_CHECKING:
    from native_client import NativePool
    from picows_client import PicowsSocket

    Socket = ClientConnection | PicowsSocket


# --------------------------------------------------------------------- targets


class Target:
    """How one server kind is reached: URL, handshake, framing. Base: raw_ws and
    bare_fastapi, which broadcast our client frame back unchanged."""

    name = "raw_ws"

    def __init__(self, port: int) -> None:
        self.port = port
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"

    def url(self, room: Room, since: int | None = None) -> str:
        return f"{self.ws}/ws"

    async def handshake(self, ws: Socket, room: Room) -> int:
        """Wait until the connection receives live traffic; returns the room's last seq then."""
        return 0

    def wrap(self, frame: str) -> str:
        return frame

    def unwrap(self, text: str) -> dict[str, Any] | None:
        """The frame as a dict, or None for transport-level frames."""
        return orjson.loads(text)  # type: ignore[no-any-return]

    def reply(self, text: str) -> str | None:
        """What to answer to a transport-level frame, if anything."""
        return None


class ServiceTarget(Target):
    name = "service"

    def url(self, room: Room, since: int | None = None) -> str:
        url = f"{self.ws}/ws/rooms/{room.key}?token={room.next_token()}"
        return url if since is None else f"{url}&since={since}"

    async def handshake(self, ws: Socket, room: Room) -> int:
        # welcome, any replay (CHAT_HISTORY_ON_CONNECT), then synced.
        for _ in range(100_000):
            frame = orjson.loads(await ws.recv())
            if frame["type"] == "synced":
                return int(frame["last_seq"])
            if frame["type"] not in ("welcome", "message"):
                raise RuntimeError(f"unexpected frame before synced: {frame}")
        raise RuntimeError("no synced frame")


class SocketIOTarget(Target):
    """Engine.IO v4 / Socket.IO v5 spoken directly over `websockets`: python-socketio's
    AsyncClient needs aiohttp, which is not installed."""

    name = "socketio"

    def url(self, room: Room, since: int | None = None) -> str:
        return f"{self.ws}/socket.io/?EIO=4&transport=websocket"

    async def handshake(self, ws: Socket, room: Room) -> int:
        opening = await ws.recv()  # engine.io OPEN: 0{"sid":...}
        if not str(opening).startswith("0"):
            raise RuntimeError(f"unexpected engine.io open: {opening!r}")
        await ws.send("40")  # socket.io CONNECT to "/"
        await self._expect(ws, "40")
        await ws.send('421["join",' + orjson.dumps(room.key).decode() + "]")  # EVENT with ack id 1
        await self._expect(ws, "431")
        return 0

    async def _expect(self, ws: Socket, prefix: str) -> None:
        for _ in range(100):
            text = str(await ws.recv())
            if text.startswith(prefix):
                return
            if text == "2":
                await ws.send("3")
        raise RuntimeError(f"no {prefix!r} packet from the socket.io server")

    def wrap(self, frame: str) -> str:
        return '42["message",' + frame + "]"

    def unwrap(self, text: str) -> dict[str, Any] | None:
        if not text.startswith("42"):
            return None
        event, data = orjson.loads(text[2:])
        return data if event == "message" else {"type": event}  # type: ignore[no-any-return]

    def reply(self, text: str) -> str | None:
        return "3" if text == "2" else None  # engine.io v4: the server pings, we pong


def make_target(name: str, port: int) -> Target:
    kinds = {
        "service": ServiceTarget,
        "raw_ws": Target,
        "picows": Target,
        "bare_fastapi": Target,
        "socketio": SocketIOTarget,
    }
    return kinds[name](port)


# ------------------------------------------------------------------ service setup


@dataclass
class Room:
    key: str  # service: room id; socketio: room name; others: unused
    tokens: Sequence[str] = ()
    _turn: int = 0

    def next_token(self) -> str:
        self._turn += 1
        return self.tokens[self._turn % len(self.tokens)]


async def service_rooms(port: int, n_users: int, n_rooms: int, members: bool = False) -> list[Room]:
    """Register n_users (argon2: ~50 ms each), log them in, create n_rooms public rooms
    (with `members`, every user a member of each)."""
    tokens, room_ids = await users_and_rooms(port, n_users, n_rooms, members)
    return [Room(str(room_id), tokens) for room_id in room_ids]


async def service_last_seqs(port: int, rooms: Sequence[Room]) -> list[int]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as http:
        auth = {"Authorization": f"Bearer {rooms[0].tokens[0]}"}
        limit = asyncio.Semaphore(8)

        async def last_seq(room: Room) -> int:
            async with limit:
                r = await http.get(f"/rooms/{room.key}", headers=auth)
                r.raise_for_status()
                return int(r.json()["last_seq"])

        return list(await asyncio.gather(*(last_seq(r) for r in rooms)))


async def make_rooms(target: Target, n_rooms: int, n_users: int, members: bool = False) -> list[Room]:
    if isinstance(target, ServiceTarget):
        return await service_rooms(target.port, n_users, n_rooms, members)
    return [Room(f"room-{i}") for i in range(n_rooms)]


async def open_socket(target: Target, room: Room, since: int | None = None) -> ClientConnection:
    # No compression (as every server here), no client pings (the servers ping).
    return await connect(
        target.url(room, since), compression=None, ping_interval=None, max_size=2**22, open_timeout=60, close_timeout=2
    )


async def open_client(client: str, target: Target, room: Room) -> Socket:
    if client in ("picows", "native"):
        import picows_client  # only here: a checkout measured for comparison may not have picows

        return await picows_client.connect(target.url(room))
    return await open_socket(target, room)


async def close_all(sockets: Sequence[Socket]) -> None:
    limit = asyncio.Semaphore(256)

    async def close(ws: Socket) -> None:
        async with limit:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)

    await asyncio.gather(*(close(ws) for ws in sockets))


# ---------------------------------------------------------------- measurements


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


# ------------------------------------------------------------------- broadcast


@dataclass
class Sender:
    index: int
    window: asyncio.Semaphore
    sent: int = 0
    rejected: set[int] = field(default_factory=set)


@dataclass
class Stats:
    latencies: array[int] = field(default_factory=lambda: array("q"))
    delivered: int = 0
    last_delivery: int = 0
    other_frames: int = 0
    dropped: int = 0  # connections closed before we closed them
    close_reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class Receiver:
    sender: Sender  # the one sender of this client's room
    own: bool  # this client is that sender
    counts: bytearray = field(default_factory=bytearray)
    last_seq: int = 0
    seq_errors: int = 0


class FrameCounter:
    """What one client makes of each frame: deliveries counted by sender and n,
    latency, seq order, refusals; called per frame by either client."""

    def __init__(self, target: Target, rx: Receiver, stats: Stats) -> None:
        self.target, self.rx, self.stats = target, rx, stats

    def on_frame(self, text: str) -> str | None:
        """Count one text frame; what to answer, if anything."""
        t = now_ns()
        if text.startswith(MESSAGE_PREFIX):
            # A message frame as orjson writes it (the service's and our own): read the
            # body's head and the seq without parsing the rest, the generator's main cost.
            b = text.find('"body":"')
            if b > 0:
                s = text.find('"seq":', 0, b)
                self._count(t, text[b + 8 : b + 72], int(text[s + 6 : text.index(",", s)]) if s > 0 else None)
                return None
        msg = self.target.unwrap(text)
        if msg is None:
            return self.target.reply(text)
        rx, stats = self.rx, self.stats
        sender = rx.sender
        kind = msg.get("type")
        if kind != "message":
            if kind in EPHEMERAL_FRAMES:
                return None  # presence and typing, not part of what is measured
            stats.other_frames += 1
            if rx.own and kind == "error" and (cid := msg.get("client_msg_id")):
                # The server refused one of our messages: never delivered, not lost.
                sender.rejected.add(int(cid.rsplit("-", 1)[1]))
                sender.window.release()
            return None
        self._count(t, msg["body"], msg.get("seq"))
        return None

    def _count(self, t: int, body: str, seq: int | None) -> None:
        """One delivery of the message whose body starts with `body`."""
        rx, stats = self.rx, self.stats
        origin, n_text, ts, _ = body.split(":", 3)
        n = int(n_text)
        counts = rx.counts
        if n >= len(counts):
            counts.extend(bytes(n - len(counts) + 1024))
        if counts[n] < 255:
            counts[n] += 1
        stats.latencies.append(t - int(ts))
        stats.delivered += 1
        stats.last_delivery = t
        if seq is not None:
            if seq != rx.last_seq + 1:
                rx.seq_errors += 1
            rx.last_seq = seq
        if rx.own and int(origin) == rx.sender.index:
            rx.sender.window.release()

    def closed(self, code: int | None, reason: str) -> None:
        if code is not None and code != 1000:
            self.stats.dropped += 1
            key = f"{code} {reason}"
            self.stats.close_reasons[key] = self.stats.close_reasons.get(key, 0) + 1


async def receive(ws: Socket, counter: FrameCounter) -> None:
    """Count every frame until the connection closes (we close it at the end)."""
    if not isinstance(ws, ClientConnection):
        ws.handler = counter.on_frame
        await ws.disconnected
    else:
        on_frame = counter.on_frame
        try:
            async for text in ws:
                reply = on_frame(text)  # type: ignore[arg-type]
                if reply is not None:
                    await ws.send(reply)
        except ConnectionClosed:
            pass
    counter.closed(ws.close_code, ws.close_reason)


def message_frame(sender: int, n: int, ts: int, pad: str) -> str:
    body = f"{sender}:{n}:{ts}:{pad}"
    return orjson.dumps({"type": "message", "body": body, "client_msg_id": f"{sender}-{n}"}).decode()


async def send_saturated(
    ws: Socket, sender: Sender, deadline: int, limit: int, frame_for: Callable[[int], str]
) -> None:
    """Saturated: keep `inflight` messages outstanding; the echo of one frees a slot.
    `frame_for(n)` is built once its slot is free, so its timestamp is the send's."""
    for n in range(limit):
        remaining = (deadline - now_ns()) / 1e9
        if remaining <= 0:
            return
        try:
            async with asyncio.timeout(remaining):
                await sender.window.acquire()
        except TimeoutError:
            return
        await ws.send(frame_for(n))
        sender.sent += 1


async def send_closed(ws: Socket, target: Target, sender: Sender, deadline: int, limit: int, pad: str) -> None:
    await send_saturated(
        ws, sender, deadline, limit, lambda n: target.wrap(message_frame(sender.index, n, now_ns(), pad))
    )


async def send_open(
    ws: Socket, target: Target, sender: Sender, t0: int, interval: int, count: int, lag: array[int], pad: str
) -> None:
    """Fixed rate: message n is due at t0 + n*interval whatever the responses; its
    timestamp is the due time, so a late send shows up as latency."""
    give_up = t0 + count * interval + 10 * 10**9
    for n in range(count):
        due = t0 + n * interval
        t = now_ns()
        if t > give_up:
            return
        # Behind schedule we still yield, so receivers keep up with a backlogged sender.
        await asyncio.sleep(max(0.0, (due - t) / 1e9))
        lag.append(now_ns() - due)
        await ws.send(target.wrap(message_frame(sender.index, n, due, pad)))
        sender.sent += 1


async def connect_room_clients(
    targets: Sequence[Target],
    rooms: Sequence[Room],
    per_room: int,
    senders: Sequence[Sender],
    client: str = "websockets",
    native_pause_us: int = 0,
) -> tuple[list[Socket], list[Receiver], list[int], NativePool | None]:
    """Open per_room clients in every room, client 0 of each being its sender. With
    the native client, clients 1.. are the C listeners', not in the lists returned.
    Over several targets (instances of one service), room r's client k talks to
    target (r + k) mod n: every room has clients on every instance it can."""
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    start_seq = [0] * len(rooms)
    native = None
    if client == "native" and isinstance(targets[0], SocketIOTarget):
        client = "picows"  # the C listeners speak plain WebSocket, not Socket.IO
    in_python = 1 if client == "native" else per_room

    def target_of(r: int, k: int) -> Target:
        return targets[(r + k) % len(targets)]

    async def one(r: int, k: int) -> tuple[Socket, Receiver]:
        target = target_of(r, k)
        async with limit:
            ws = await open_client(client, target, rooms[r])
            last = await target.handshake(ws, rooms[r])
        if k == 0:
            start_seq[r] = last
        return ws, Receiver(senders[r], own=(k == 0), last_seq=last)

    pairs = await asyncio.gather(*(one(r, k) for r in range(len(rooms)) for k in range(in_python)))
    if client == "native" and per_room > 1:
        import native_client  # only here: it builds a binary on first use

        native = native_client.NativePool([t.port for t in targets], native_pause_us)
        await native.start()
        for r, room in enumerate(rooms):
            for k in range(1, per_room):
                target = target_of(r, k)
                path = target.url(room).removeprefix(target.ws)
                native.add(target.port, path, start_seq[r], isinstance(target, ServiceTarget))
        ok, failed = await native.connect()
        if failed:
            raise RuntimeError(f"{failed} of {ok + failed} native clients failed to connect")
    return [p[0] for p in pairs], [p[1] for p in pairs], start_seq, native


async def drain(
    stats: Stats,
    expected: Callable[[], int],
    idle_s: float,
    max_s: float,
    native: NativePool | None = None,
) -> None:
    """Wait until every expected delivery arrived, or none arrived for idle_s."""
    deadline = now_ns() + int(max_s * 1e9)
    seen, since = -1, now_ns()
    while now_ns() < deadline:
        delivered = stats.delivered + ((await native.progress())[0] if native else 0)
        if delivered >= expected():
            return
        if delivered != seen:
            seen, since = delivered, now_ns()
        elif now_ns() - since > idle_s * 1e9:
            return
        await asyncio.sleep(0.02)


async def run_broadcast(args: argparse.Namespace) -> dict[str, Any]:
    targets = [make_target(args.target, port) for port in [args.port, *args.more_ports]]
    target = targets[0]
    rooms = await make_rooms(target, args.rooms, args.users, args.members)
    stats = Stats()
    senders = [Sender(r, asyncio.Semaphore(args.inflight)) for r in range(len(rooms))]
    sockets, receivers, start_seq, native = await connect_room_clients(
        targets, rooms, args.clients_per_room, senders, args.client, args.native_pause_us
    )
    readers = [
        asyncio.create_task(receive(ws, FrameCounter(target, rx, stats)))
        for ws, rx in zip(sockets, receivers, strict=True)
    ]
    sender_ws = sockets[:: 1 if native else args.clients_per_room]
    pad = "x" * max(0, args.body_size - 40)
    lag: array[int] = array("q")
    await asyncio.sleep(0.5)  # let handshakes settle before the window opens

    window = Window(args.server_pid, native.pids if native else [], args.more_server_pids, dict(args.side_pid))
    window.start()
    t0 = window.t0
    if args.mode == "saturated":
        deadline = t0 + int(args.duration * 1e9)
        sends = [
            send_closed(ws, target, s, deadline, args.max_messages, pad)
            for ws, s in zip(sender_ws, senders, strict=True)
        ]
    else:
        per_sender = args.rate / len(senders)
        interval = int(1e9 / per_sender)
        count = min(args.max_messages, max(1, int(per_sender * args.duration)))
        # Senders are staggered across one interval so the rooms do not fire in step.
        sends = [
            send_open(ws, target, s, t0 + i * interval // len(senders), interval, count, lag, pad)
            for i, (ws, s) in enumerate(zip(sender_ws, senders, strict=True))
        ]
    await asyncio.gather(*sends)
    sending_s = (now_ns() - t0) / 1e9

    def expected() -> int:
        return sum((s.sent - len(s.rejected)) * args.clients_per_room for s in senders)

    await drain(stats, expected, args.drain_idle, args.drain_max, native)
    cpu = window.stop()
    if native:
        stats.last_delivery = max(stats.last_delivery, (await native.progress())[1])
    end = max(stats.last_delivery, t0 + int(sending_s * 1e9))
    span = (end - t0) / 1e9

    stored = None
    if isinstance(target, ServiceTarget):
        stored = sum(a - b for a, b in zip(await service_last_seqs(args.port, rooms), start_seq, strict=True))
    await close_all(sockets)
    await asyncio.wait(readers, timeout=10)
    if native:
        listened = await native.end()
        stats.delivered += len(listened.latencies)
        stats.latencies.extend(listened.latencies)
        stats.other_frames += listened.other_frames
        listeners = [senders[r] for r in range(len(rooms)) for _ in range(args.clients_per_room - 1)]
        for sender, heard in zip(listeners, listened.clients, strict=True):
            receivers.append(Receiver(sender, False, heard.counts, heard.last_seq, heard.seq_errors))
            FrameCounter(target, receivers[-1], stats).closed(heard.close_code, "")

    lost = dup = unexpected = 0
    for rx in receivers:
        n, c = rx.sender.sent, rx.counts
        if len(c) < n:
            c.extend(bytes(n - len(c)))
        received = len(c) - c.count(0)
        lost += max(0, c.count(0, 0, n) - len(rx.sender.rejected))
        dup += sum(c) - received
        unexpected += len(c) - n - c.count(0, n)
    sent = sum(s.sent for s in senders)
    delivered = stats.delivered
    return {
        "target": args.target,
        "client": args.client,
        "mode": args.mode,
        "rooms": len(rooms),
        "clients_per_room": args.clients_per_room,
        "members": args.members,
        "connections": len(receivers),
        "inflight": args.inflight if args.mode == "saturated" else None,
        "rate_target": args.rate if args.mode == "rate" else None,
        "sent": sent,
        "rejected": sum(len(s.rejected) for s in senders),
        "delivered": delivered,
        "expected": expected(),
        "lost": lost,
        "duplicated": dup,
        "unexpected": unexpected,
        "seq_errors": sum(rx.seq_errors for rx in receivers),
        "other_frames": stats.other_frames,
        "dropped_connections": stats.dropped,
        "close_reasons": stats.close_reasons,
        "sending_s": round(sending_s, 3),
        "span_s": round(span, 3),
        "msgs_per_s": round(sent / sending_s, 1),
        "deliveries_per_s": round(delivered / span, 1),
        "stored": stored,
        "stored_per_s": None if stored is None else round(stored / sending_s, 1),
        **percentiles_ms(stats.latencies),
        **{f"send_lag_{k}": v for k, v in percentiles_ms(lag).items() if k in ("p99_ms", "max_ms")},
        **cpu.as_dict(),
        "server_cpu_us_per_delivery": cpu.server_per(delivered, 1e6),
        "server_cpu_us_per_message": cpu.server_per(sent, 1e6),
        "gen_cpu_us_per_delivery": round(cpu.gen_cpu_s * 1e6 / delivered, 2) if delivered else None,
    }


# ------------------------------------------------------------------------ idle


async def run_idle(args: argparse.Namespace) -> dict[str, Any]:
    target = make_target(args.target, args.port)
    (room,) = await make_rooms(target, 1, args.users)
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    failures: list[str] = []

    async def one() -> ClientConnection | None:
        async with limit:
            try:
                ws = await open_socket(target, room)
                await target.handshake(ws, room)
                return ws
            except Exception as exc:  # counted and reported, not fatal
                failures.append(f"{type(exc).__name__}: {exc}"[:200])
                return None

    # Warm-up: the first connections allocate caches and pools that are not per-connection.
    warm = [ws for ws in await asyncio.gather(*(one() for _ in range(args.warmup))) if ws]
    await close_all(warm)
    await asyncio.sleep(args.settle)
    rss0 = procstat.rss_kib(args.server_pid)
    window = Window(args.server_pid)
    window.start()
    sockets = [ws for ws in await asyncio.gather(*(one() for _ in range(args.connections))) if ws]
    opened = window.stop()
    await asyncio.sleep(args.settle)
    rss1 = procstat.rss_kib(args.server_pid)
    alive = sum(1 for ws in sockets if ws.close_code is None)
    await close_all(sockets)
    n = len(sockets)
    return {
        "target": args.target,
        "connections": n,
        "alive_at_measure": alive,
        "failed": len(failures),
        "failures_sample": failures[:3],
        "rss_before_kib": rss0,
        "rss_after_kib": rss1,
        "rss_per_conn_kib": round((rss1 - rss0) / n, 2) if n else None,
        "connect_s": round(opened.wall_s, 3),
        "connects_per_s": opened.per_s(n),
        "server_cpu_us_per_connect": opened.server_per(n, 1e6),
        "gen_cpu_pct": opened.as_dict()["gen_cpu_pct"],
        "others_server_core_pct": opened.others_server_core_pct,
    }


# ---------------------------------------------------------------------- replay


async def run_replay(args: argparse.Namespace) -> dict[str, Any]:
    target = make_target("service", args.port)
    (room,) = await make_rooms(target, 1, args.users)
    # Fill the room: one sender, a few messages in flight, until all are echoed.
    stats = Stats()
    sender = Sender(0, asyncio.Semaphore(16))
    ws = await open_socket(target, room)
    since = await target.handshake(ws, room)
    reader = asyncio.create_task(receive(ws, FrameCounter(target, Receiver(sender, own=True, last_seq=since), stats)))
    deadline = now_ns() + int(args.fill_timeout * 1e9)
    await send_closed(ws, target, sender, deadline, args.missed, "x" * max(0, args.body_size - 40))
    await drain(stats, lambda: sender.sent, 5, args.fill_timeout)
    await close_all([ws])
    await asyncio.wait([reader], timeout=10)
    if stats.delivered != args.missed:
        raise RuntimeError(f"filled {stats.delivered} of {args.missed} messages")

    limit = asyncio.Semaphore(args.concurrency)
    times: list[int] = []
    bad: list[str] = []
    lost = dup = truncated = 0
    sockets: list[ClientConnection] = []

    async def reconnect() -> None:
        nonlocal lost, dup, truncated
        async with limit:
            t = now_ns()
            ws = await open_socket(target, room, since)
            sockets.append(ws)
            seqs: list[int] = []
            for _ in range(args.missed + 10):
                frame = orjson.loads(await ws.recv())
                if frame["type"] == "message":
                    seqs.append(frame["seq"])
                elif frame["type"] == "synced":
                    times.append(now_ns() - t)
                    truncated += bool(frame["truncated"])
                    break
                elif frame["type"] != "welcome":
                    bad.append(str(frame)[:200])
            got = set(seqs)
            lost += len(set(range(since + 1, since + args.missed + 1)) - got)
            dup += len(seqs) - len(got)

    window = Window(args.server_pid)
    window.start()
    outcomes = await asyncio.gather(*(reconnect() for _ in range(args.clients)), return_exceptions=True)
    cpu = window.stop()
    await close_all(sockets)
    errors = [f"{type(o).__name__}: {o}"[:200] for o in outcomes if isinstance(o, BaseException)]
    n = len(times)
    return {
        "target": "service",
        "clients": args.clients,
        "missed": args.missed,
        "completed": n,
        "errors": len(errors) + len(bad),
        "errors_sample": (errors + bad)[:3],
        "lost": lost,
        "duplicated": dup,
        "truncated": truncated,
        "replays_per_s": cpu.per_s(n),
        "replayed_msgs_per_s": cpu.per_s(n * args.missed),
        **{f"synced_{k}": v for k, v in percentiles_ms(times).items()},
        **cpu.as_dict(),
        "server_cpu_ms_per_replay": cpu.server_per(n, 1e3),
        "server_cpu_us_per_replayed_msg": cpu.server_per(n * args.missed, 1e6),
    }


# ------------------------------------------------------------------------- mux


@dataclass(eq=False)
class Peer:
    """One socket of the mux scenario: a /ws socket with all its user's rooms, or a
    per-room socket with one. Frames are classified with substring checks, not
    decoded: the generator must stay cheaper per frame than the server."""

    ws: ClientConnection
    rooms: tuple[int, ...]  # room indexes carried by this socket
    sends: int | None  # room index whose echo on this socket frees its sender's window
    want: int  # synced frames to wait for
    synced: int = 0
    failed: int = 0  # rooms answered with an error instead of synced
    t0: int = 0
    took: int = 0  # ns from subscribe (or connect) to the last synced
    done: asyncio.Event = field(default_factory=asyncio.Event)
    counts: dict[int, bytearray] = field(default_factory=dict)


@dataclass
class MuxStats:
    latencies: array[int] = field(default_factory=lambda: array("q"))
    delivered: int = 0
    last_delivery: int = 0
    presence: int = 0
    misrouted: int = 0  # a /ws message frame whose "room" is not the room its body names
    errors: list[str] = field(default_factory=list)
    dropped: int = 0
    senders: list[Sender] = field(default_factory=list)  # the current phase's, one per room
    closing: bool = False  # we are closing the phase's sockets: an unclean close is not a drop
    unclean_closes: int = 0  # our closes the server did not complete within close_timeout


def mux_layout(users: int, per_user: int, members: int) -> tuple[int, list[tuple[int, ...]]]:
    """Rooms and each user's rooms: user u is in rooms (u + j*stride) % R, j < per_user,
    R = users*per_user/members, so every room has about `members` users and user r
    (r < R) is in room r: it is that room's sender."""
    n_rooms = max(per_user, round(users * per_user / members))
    stride = n_rooms // per_user
    return n_rooms, [tuple((u + j * stride) % n_rooms for j in range(per_user)) for u in range(users)]


async def users_and_rooms(port: int, n_users: int, n_rooms: int, members: bool = False) -> tuple[list[str], list[int]]:
    """n_users users, each with its own token (argon2 twice each: register, login), and n_rooms public rooms
    created by the first; with `members`, every user is a member of every room (else the first alone)."""
    run = secrets.token_hex(3)
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=300, limits=limits) as http:
        limit = asyncio.Semaphore(4)  # the server hashes one at a time anyway (CHAT_HASH_CONCURRENCY)

        async def user(i: int) -> str:
            name = f"m{run}_{i}"
            async with limit:
                (await http.post("/auth/register", json={"username": name, "password": PASSWORD})).raise_for_status()
                r = await http.post("/auth/token", data={"username": name, "password": PASSWORD})
                r.raise_for_status()
                return str(r.json()["access_token"])

        tokens = list(await asyncio.gather(*(user(i) for i in range(n_users))))
        auth = {"Authorization": f"Bearer {tokens[0]}"}
        room_limit = asyncio.Semaphore(8)

        async def create(i: int) -> int:
            async with room_limit:
                r = await http.post("/rooms", json={"name": f"bench-{run}-{i}"}, headers=auth)
                r.raise_for_status()
                return int(r.json()["id"])

        room_ids = list(await asyncio.gather(*(create(i) for i in range(n_rooms))))

        async def add(room_id: int, i: int) -> None:
            async with room_limit:
                r = await http.post(f"/rooms/{room_id}/members", json={"username": f"m{run}_{i}"}, headers=auth)
                r.raise_for_status()

        if members:
            await asyncio.gather(*(add(room_id, i) for room_id in room_ids for i in range(1, n_users)))
        return tokens, room_ids


async def mux_read(peer: Peer, senders: Sequence[Sender], prefixes: Sequence[str] | None, stats: MuxStats) -> None:
    """Count every frame of one socket until it closes. prefixes: '{"room":<id>,' per
    room index on /ws (checked against the body's room), None on per-room sockets."""
    latencies, counts, sends = stats.latencies, peer.counts, peer.sends
    try:
        async for text in peer.ws:
            t = now_ns()
            i = text.find('"type":"', 0, 48)  # type: ignore[arg-type]
            if text.startswith('message"', i + 8):  # type: ignore[arg-type]
                j = text.find('"body":"', i)  # type: ignore[arg-type]
                room_text, n_text, ts, _ = text[j + 8 : j + 80].split(":", 3)  # type: ignore[union-attr]
                room, n = int(room_text), int(n_text)
                c = counts[room]
                if n >= len(c):
                    c.extend(bytes(n - len(c) + 1024))
                if c[n] < 255:
                    c[n] += 1
                latencies.append(t - int(ts))
                stats.delivered += 1
                stats.last_delivery = t
                if prefixes is not None and not text.startswith(prefixes[room]):  # type: ignore[arg-type]
                    stats.misrouted += 1
                if room == sends:
                    senders[room].window.release()
            elif text.startswith('presence"', i + 8):  # type: ignore[arg-type]
                stats.presence += 1
            elif text.startswith('synced"', i + 8):  # type: ignore[arg-type]
                peer.synced += 1
                if peer.synced + peer.failed == peer.want:
                    peer.took = t - peer.t0
                    peer.done.set()
            elif text.startswith("error", i + 8):  # type: ignore[arg-type]
                frame = orjson.loads(text)
                stats.errors.append(str(frame)[:200])
                if cid := frame.get("client_msg_id"):
                    room, n = (int(x) for x in cid.split("-")[1:])
                    senders[room].rejected.add(n)
                    senders[room].window.release()
                elif frame.get("room") is not None:
                    peer.failed += 1
                    if peer.synced + peer.failed == peer.want:
                        peer.done.set()
            # hello, welcome, typing, pong: nothing to count
    except ConnectionClosed:
        pass
    if peer.ws.close_code is not None and peer.ws.close_code != 1000:
        if stats.closing:
            stats.unclean_closes += 1
        else:
            stats.dropped += 1
            stats.errors.append(f"closed {peer.ws.close_code} {peer.ws.close_reason}")
    peer.done.set()


async def mux_fanout(
    args: argparse.Namespace,
    peers: Sequence[Peer],
    sender_ws: Sequence[ClientConnection],
    room_ids: Sequence[int],
    members: Sequence[int],
    stats: MuxStats,
    multiplexed: bool,
) -> dict[str, Any]:
    """Saturated: one sender per room keeps --inflight messages unacknowledged for --duration."""
    senders = [Sender(r, asyncio.Semaphore(args.inflight)) for r in range(len(room_ids))]
    # Same users and rooms in both phases: a client_msg_id seen before would be answered as a duplicate.
    phase = "ws" if multiplexed else "room"
    for peer in peers:
        for room in peer.rooms:
            peer.counts[room] = bytearray()
    # Readers look senders up through this list, filled in place for the new phase.
    stats.senders[:] = senders
    pad = "x" * max(0, args.body_size - 40)
    base = len(stats.latencies)
    stats.delivered = 0

    async def send(r: int, ws: ClientConnection, deadline: int) -> None:
        room = room_ids[r]

        def frame_for(n: int) -> str:
            frame: dict[str, Any] = {
                "type": "message",
                "body": f"{r}:{n}:{now_ns()}:{pad}",
                "client_msg_id": f"{phase}-{r}-{n}",
            }
            if multiplexed:
                frame["room"] = room
            return orjson.dumps(frame).decode()

        await send_saturated(ws, senders[r], deadline, args.max_messages, frame_for)

    window = Window(args.server_pid)
    window.start()
    t0 = window.t0
    deadline = t0 + int(args.duration * 1e9)
    await asyncio.gather(*(send(r, ws, deadline) for r, ws in enumerate(sender_ws)))
    sending_s = (now_ns() - t0) / 1e9

    def expected() -> int:
        return sum((s.sent - len(s.rejected)) * members[s.index] for s in senders)

    await drain(stats, expected, args.drain_idle, args.drain_max)  # type: ignore[arg-type]
    cpu = window.stop()
    delivered = stats.delivered
    span = (max(stats.last_delivery, t0 + int(sending_s * 1e9)) - t0) / 1e9
    lost = dup = 0
    for peer in peers:
        for room in peer.rooms:
            c, s = peer.counts[room], senders[room]
            if len(c) < s.sent:
                c.extend(bytes(s.sent - len(c)))
            lost += max(0, c.count(0, 0, s.sent) - len(s.rejected))
            dup += sum(c) - (len(c) - c.count(0))
    sent = sum(s.sent for s in senders)
    return {
        "senders": len(senders),
        "inflight": args.inflight,
        "sent": sent,
        "rejected": sum(len(s.rejected) for s in senders),
        "delivered": delivered,
        "expected": expected(),
        "lost": lost,
        "duplicated": dup,
        "msgs_per_s": round(sent / sending_s, 1),
        "deliveries_per_s": round(delivered / span, 1) if span > 0 else None,
        **percentiles_ms(stats.latencies[base:]),
        **cpu.as_dict(),
        "server_cpu_pct": round(100 * cpu.server_cpu_s / cpu.wall_s, 1) if cpu.server_cpu_s is not None else None,
        "server_cpu_us_per_delivery": cpu.server_per(delivered, 1e6),
        "gen_cpu_us_per_delivery": round(cpu.gen_cpu_s * 1e6 / delivered, 2) if delivered else None,
    }


async def run_mux(args: argparse.Namespace) -> dict[str, Any]:
    """N users, each with K rooms on one /ws socket: memory and CPU per socket and per
    subscription, the subscribe storm, then fan-out; then the same users, rooms and
    traffic over one /ws/rooms/{id} socket per (user, room)."""
    http_port, ws_base = args.port, f"ws://127.0.0.1:{args.port}"
    n_rooms, layout = mux_layout(args.users, args.rooms_per_user, args.room_members)
    t_setup = now_ns()
    tokens, room_ids = await users_and_rooms(http_port, args.users, n_rooms)
    setup_s = (now_ns() - t_setup) / 1e9
    members = [0] * n_rooms
    for rooms in layout:
        for r in rooms:
            members[r] += 1
    prefixes = [f'{{"room":{rid},' for rid in room_ids]
    stats = MuxStats()
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    readers: list[asyncio.Task[None]] = []

    async def open_ws(url: str) -> ClientConnection:
        return await connect(
            url, compression=None, ping_interval=None, max_size=2**22, open_timeout=120, close_timeout=2
        )

    async def open_mux(u: int) -> Peer:
        async with limit:
            ws = await open_ws(f"{ws_base}/ws?token={tokens[u]}")
            hello = str(await ws.recv())
            if not hello.startswith('{"type":"hello"'):
                raise RuntimeError(f"expected hello, got {hello[:200]}")
        rooms = layout[u]
        peer = Peer(ws, rooms, u if u < n_rooms else None, len(rooms))
        readers.append(asyncio.create_task(mux_read(peer, stats.senders, prefixes, stats)))
        return peer

    subscribe_limit = asyncio.Semaphore(args.subscribe_concurrency)

    async def subscribe(peer: Peer) -> None:
        frame = orjson.dumps({"type": "subscribe", "rooms": [{"room": room_ids[r], "since": None} for r in peer.rooms]})
        async with subscribe_limit:
            peer.t0 = now_ns()
            await peer.ws.send(frame.decode())
            await peer.done.wait()

    async def open_room(u: int, r: int) -> Peer:
        peer = Peer(None, (r,), r if u == r else None, 1)  # type: ignore[arg-type]
        async with limit:
            peer.t0 = now_ns()
            peer.ws = await open_ws(f"{ws_base}/ws/rooms/{room_ids[r]}?token={tokens[u]}")
            readers.append(asyncio.create_task(mux_read(peer, stats.senders, None, stats)))
            await peer.done.wait()
        return peer

    def subscribed(peers: Sequence[Peer]) -> list[int]:
        count = [0] * n_rooms
        for peer in peers:
            if peer.failed == 0 and peer.synced == peer.want:
                for r in peer.rooms:
                    count[r] += 1
        return count

    # Warm-up: pools and caches that are not per socket.
    warm = await asyncio.gather(*(open_mux(u) for u in range(min(args.warmup, args.users))))
    await asyncio.gather(*(subscribe(p) for p in warm))
    await close_all([p.ws for p in warm])
    await asyncio.sleep(args.settle)

    # /ws: connect (hello), then the subscribe storm, then fan-out.
    rss0 = procstat.rss_kib(args.server_pid) if args.server_pid else None
    window = Window(args.server_pid)
    window.start()
    peers = list(await asyncio.gather(*(open_mux(u) for u in range(args.users))))
    connected = window.stop()
    await asyncio.sleep(args.settle)
    rss1 = procstat.rss_kib(args.server_pid) if args.server_pid else None
    window = Window(args.server_pid)
    window.start()
    await asyncio.gather(*(subscribe(p) for p in peers))
    subscribing = window.stop()
    await asyncio.sleep(args.settle)
    rss2 = procstat.rss_kib(args.server_pid) if args.server_pid else None
    subs = sum(p.synced for p in peers)
    presence_ws = stats.presence
    mux_members = subscribed(peers)
    ws_fanout = await mux_fanout(args, peers, [peers[r].ws for r in range(n_rooms)], room_ids, mux_members, stats, True)
    stats.closing = True
    t_close = now_ns()
    await close_all([p.ws for p in peers])
    await asyncio.wait(readers, timeout=10)
    ws_close_s = (now_ns() - t_close) / 1e9
    stats.closing = False
    readers.clear()
    ws_times = [p.took for p in peers if p.took]
    ws_errors = len(stats.errors)
    await asyncio.sleep(args.settle)

    # Per room: the same users and rooms, one socket per (user, room).
    rss3 = procstat.rss_kib(args.server_pid) if args.server_pid else None
    stats.presence = 0
    window = Window(args.server_pid)
    window.start()
    pairs = [(u, r) for u, rooms in enumerate(layout) for r in rooms]
    room_peers = list(await asyncio.gather(*(open_room(u, r) for u, r in pairs)))
    room_subscribing = window.stop()
    await asyncio.sleep(args.settle)
    rss4 = procstat.rss_kib(args.server_pid) if args.server_pid else None
    room_subs = sum(p.synced for p in room_peers)
    presence_room = stats.presence  # before the closes, whose leaves would count too
    senders_by_room = {p.sends: p.ws for p in room_peers if p.sends is not None}
    sender_ws = [senders_by_room[r] for r in range(n_rooms)]
    per_room_fanout = await mux_fanout(args, room_peers, sender_ws, room_ids, subscribed(room_peers), stats, False)
    stats.closing = True
    t_close = now_ns()
    ws_unclean = stats.unclean_closes
    await close_all([p.ws for p in room_peers])
    await asyncio.wait(readers, timeout=10)
    room_close_s = (now_ns() - t_close) / 1e9
    room_times = [p.took for p in room_peers if p.took]

    def kib(after: int | None, before: int | None, n: int) -> float | None:
        return round((after - before) / n, 2) if after is not None and before is not None and n else None

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    n_subs = args.users * args.rooms_per_user
    ws_sub_cpu = subscribing.server_per(subs, 1e6)
    room_sub_cpu = room_subscribing.server_per(room_subs, 1e6)
    return {
        "target": "service",
        "users": args.users,
        "rooms_per_user": args.rooms_per_user,
        "rooms": n_rooms,
        "members_per_room": [min(members), max(members)],
        "subscriptions": n_subs,
        "setup_s": round(setup_s, 1),
        "ws": {
            "sockets": len(peers),
            "rss_before_kib": rss0,
            "rss_connected_kib": rss1,
            "rss_subscribed_kib": rss2,
            "rss_per_socket_kib": kib(rss1, rss0, len(peers)),
            "rss_per_subscription_kib": kib(rss2, rss1, subs),
            "rss_per_subscription_incl_socket_kib": kib(rss2, rss0, subs),
            "connects_per_s": connected.per_s(len(peers)),
            "server_cpu_us_per_connect": connected.server_per(len(peers), 1e6),
            "subscribed": subs,
            "subscribe_failed": sum(p.failed for p in peers),
            "subscribe_concurrency": args.subscribe_concurrency,
            **{f"subscribe_{k}": v for k, v in percentiles_ms(ws_times).items()},
            "subscribe_wall_s": round(subscribing.wall_s, 3),
            "subscriptions_per_s": subscribing.per_s(subs),
            "server_cpu_us_per_subscription": ws_sub_cpu,
            "subscribe_gen_cpu_pct": subscribing.as_dict()["gen_cpu_pct"],
            "subscribe_others_server_core_pct": subscribing.others_server_core_pct,
            "presence_frames": presence_ws,
            "errors": ws_errors,
            "close_s": round(ws_close_s, 1),
            "unclean_closes": ws_unclean,
            "fanout": ws_fanout,
        },
        "per_room": {
            "sockets": len(room_peers),
            "rss_before_kib": rss3,
            "rss_subscribed_kib": rss4,
            "rss_per_subscription_kib": kib(rss4, rss3, room_subs),
            "subscribed": room_subs,
            "subscribe_failed": sum(p.failed for p in room_peers),
            **{f"connect_synced_{k}": v for k, v in percentiles_ms(room_times).items()},
            "subscribe_wall_s": round(room_subscribing.wall_s, 3),
            "subscriptions_per_s": room_subscribing.per_s(room_subs),
            "server_cpu_us_per_subscription": room_sub_cpu,
            "subscribe_gen_cpu_pct": room_subscribing.as_dict()["gen_cpu_pct"],
            "subscribe_others_server_core_pct": room_subscribing.others_server_core_pct,
            "presence_frames": presence_room,
            "close_s": round(room_close_s, 1),
            "unclean_closes": stats.unclean_closes - ws_unclean,
            "fanout": per_room_fanout,
        },
        "misrouted": stats.misrouted,
        "errors": len(stats.errors),
        "errors_sample": stats.errors[:3],
        "dropped_connections": stats.dropped,
        "ratio_ws_per_room": {
            "deliveries_per_s": ratio(ws_fanout["deliveries_per_s"], per_room_fanout["deliveries_per_s"]),
            "server_cpu_us_per_delivery": ratio(
                ws_fanout["server_cpu_us_per_delivery"], per_room_fanout["server_cpu_us_per_delivery"]
            ),
            "server_cpu_us_per_subscription": ratio(ws_sub_cpu, room_sub_cpu),
            # Sockets included: what one more (user, room) costs either way.
            "rss_per_subscription_incl_socket_kib": ratio(kib(rss2, rss0, subs), kib(rss4, rss3, room_subs)),
        },
    }


# ----------------------------------------------------------------------- login


async def run_login(args: argparse.Namespace) -> dict[str, Any]:
    names = [f"login{secrets.token_hex(3)}_{i}" for i in range(args.users)]
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}/api/v1", timeout=120, limits=limits) as http:
        for name in names:
            (await http.post("/auth/register", json={"username": name, "password": PASSWORD})).raise_for_status()
        times: list[int] = []
        statuses: dict[str, int] = {}
        limit = asyncio.Semaphore(args.concurrency)

        async def login(i: int) -> None:
            async with limit:
                t = now_ns()
                try:
                    r = await http.post("/auth/token", data={"username": names[i % len(names)], "password": PASSWORD})
                    key = str(r.status_code)
                    if r.status_code == 200:
                        times.append(now_ns() - t)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                statuses[key] = statuses.get(key, 0) + 1

        window = Window(args.server_pid)
        window.start()
        await asyncio.gather(*(login(i) for i in range(args.logins)))
        cpu = window.stop()
    ok = statuses.get("200", 0)
    return {
        "target": "service",
        "logins": args.logins,
        "users": args.users,
        "concurrency": args.concurrency,
        "ok": ok,
        "statuses": statuses,
        "logins_per_s": cpu.per_s(ok),
        **percentiles_ms(times),
        **cpu.as_dict(),
        "server_cpu_ms_per_login": cpu.server_per(ok, 1e3),
    }


# ------------------------------------------------------------------------- CLI


def comma_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="scenario", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--server-pid", type=int, help="server process to read CPU/RSS of (default: not measured)")
        p.add_argument("--users", type=int, default=4, help="service: users to register (tokens reused round-robin)")
        p.add_argument("--timeout", type=float, default=600, help="hard limit for the whole scenario, seconds")
        p.add_argument("--body-size", type=int, default=100, help="message body length in characters")

    p = sub.add_parser("broadcast", help="rooms x clients, one sender per room")
    common(p)
    p.add_argument("--target", choices=TARGETS, required=True)
    p.add_argument("--rooms", type=int, default=1)
    p.add_argument("--clients-per-room", type=int, default=100)
    p.add_argument("--mode", choices=("saturated", "rate"), default="saturated")
    p.add_argument("--inflight", type=int, default=4, help="saturated: unacknowledged messages per sender")
    p.add_argument("--rate", type=float, default=100, help="rate: messages/s over all senders")
    p.add_argument("--duration", type=float, default=10, help="seconds of sending")
    p.add_argument("--max-messages", type=int, default=1_000_000, help="per sender")
    p.add_argument("--drain-idle", type=float, default=3, help="stop waiting after this long without a delivery")
    p.add_argument("--drain-max", type=float, default=60)
    p.add_argument(
        "--members",
        action="store_true",
        help="service: every user is a member of every room, so each message moves its sender's read marker",
    )
    p.add_argument("--client", choices=CLIENTS, default="websockets", help="the generator's WebSocket client")
    p.add_argument(
        "--more-ports",
        type=comma_ints,
        default=[],
        help="service: other instances on the same database and broker (comma-separated); clients spread over all",
    )
    p.add_argument(
        "--side-pid",
        type=lambda text: (text.split("=", 1)[0], int(text.split("=", 1)[1])),
        action="append",
        default=[],
        metavar="NAME=PID",
        help="a process the servers use (its descendants too), its CPU reported apart; repeatable",
    )
    p.add_argument(
        "--more-server-pids",
        type=comma_ints,
        default=[],
        help="those instances' processes, measured with --server-pid",
    )
    p.add_argument(
        "--native-pause-us",
        type=int,
        default=1000,
        help="native listeners pause this long between rounds of reads, to take several frames a read",
    )

    p = sub.add_parser("idle", help="open N idle connections, RSS per connection")
    common(p)
    p.add_argument("--target", choices=TARGETS, required=True)
    p.add_argument("--connections", type=int, default=5000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--settle", type=float, default=2.0, help="seconds before each RSS reading")

    p = sub.add_parser("replay", help="N clients reconnect with since after M missed messages")
    common(p)
    p.add_argument("--clients", type=int, default=500)
    p.add_argument("--missed", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=500, help="reconnects in progress at once")
    p.add_argument("--fill-timeout", type=float, default=120)

    p = sub.add_parser(
        "mux", help="N users x K rooms on one /ws socket each, then one per-room socket per (user, room)"
    )
    common(p)
    p.set_defaults(users=1000)
    p.add_argument("--rooms-per-user", type=int, default=20)
    p.add_argument("--room-members", type=int, default=50, help="users per room (rooms = users x K / this)")
    p.add_argument(
        "--subscribe-concurrency",
        type=int,
        default=50,
        help="subscribe frames (or per-room connects) in progress at once",
    )
    p.add_argument("--inflight", type=int, default=2, help="unacknowledged messages per room's sender")
    p.add_argument("--duration", type=float, default=10, help="seconds of sending per fan-out")
    p.add_argument("--max-messages", type=int, default=1_000_000, help="per sender")
    p.add_argument("--drain-idle", type=float, default=3, help="stop waiting after this long without a delivery")
    p.add_argument("--drain-max", type=float, default=60)
    p.add_argument("--warmup", type=int, default=20, help="sockets opened, subscribed and closed first")
    p.add_argument("--settle", type=float, default=2.0, help="seconds before each RSS reading")

    p = sub.add_parser("login", help="a storm of POST /auth/token")
    common(p)
    p.add_argument("--logins", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    if args.body_size < 40 or args.body_size > MAX_BODY_SIZE:
        parser.error(f"--body-size must be 40..{MAX_BODY_SIZE}")
    return args


SCENARIOS: dict[str, Callable[[argparse.Namespace], Awaitable[dict[str, Any]]]] = {
    "broadcast": run_broadcast,
    "idle": run_idle,
    "replay": run_replay,
    "login": run_login,
    "mux": run_mux,
}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async with asyncio.timeout(args.timeout):
        return await SCENARIOS[args.scenario](args)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    sockets = vars(arguments).get("connections", 0) + vars(arguments).get("clients", 0)
    if arguments.scenario == "broadcast":
        sockets = arguments.rooms * arguments.clients_per_room
    if arguments.scenario == "mux":
        sockets = arguments.users * arguments.rooms_per_user
    procstat.raise_nofile(sockets + 1024)
    print(orjson.dumps(uvloop.run(main(arguments))).decode(), flush=True)
