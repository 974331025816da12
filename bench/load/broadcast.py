"""Broadcast: rooms of clients, one sender per room, saturated (a window of
unacknowledged messages per sender) or at a fixed rate (open loop). The senders
are Python sockets; every other client of a room is a C listener (native.py),
on Socket.IO too.

Every message body is "<sender>:<n>:<t_ns>:<padding>", t_ns being this process's
perf_counter_ns() at the (scheduled) send; latency is the receiving client's
perf_counter_ns() minus it. Each receiving client counts which n it got from its
room's sender, which gives lost and duplicated deliveries."""

from __future__ import annotations

import argparse
import asyncio
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from load.mix import PLAIN, Mix, parse
from load.native import NativePool
from load.picows_client import PicowsSocket
from load.targets import (
    CONNECT_CONCURRENCY,
    TARGETS,
    Room,
    ServiceTarget,
    SocketIOTarget,
    Target,
    close_all,
    make_rooms,
    make_target,
    open_socket,
    service_last_seqs,
)
from load.window import Window, now_ns, percentiles_ms

HELP = "rooms x clients, one sender per room"
# Presence and typing frames the service sends besides messages.
EPHEMERAL_FRAMES = ("presence", "typing")
MESSAGE_PREFIX = '{"type":"message",'


@dataclass
class Sender:
    index: int
    window: asyncio.Semaphore
    mix: Mix = PLAIN
    mention: str = ""  # the member its @name messages name
    sent: int = 0
    rejected: set[int] = field(default_factory=set)
    root: int | None = None  # seq of its latest top-level message echoed: the next reply's root

    def frame(self, n: int, ts: int, pad: str) -> str:
        if self.mix:
            return self.mix.frame(self.index, n, ts, pad, self.root, self.mention)
        return message_frame(self.index, n, ts, pad)


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
            if rx.sender.mix and seq is not None and not rx.sender.mix.is_reply(n):
                rx.sender.root = seq

    def closed(self, code: int | None, reason: str) -> None:
        if code is not None and code != 1000:
            self.stats.dropped += 1
            key = f"{code} {reason}"
            self.stats.close_reasons[key] = self.stats.close_reasons.get(key, 0) + 1


async def receive(ws: PicowsSocket, counter: FrameCounter) -> None:
    """Count every frame until the connection closes (we close it at the end)."""
    ws.listen(counter.on_frame)
    await ws.disconnected
    counter.closed(ws.close_code, ws.close_reason)


def message_frame(sender: int, n: int, ts: int, pad: str) -> str:
    body = f"{sender}:{n}:{ts}:{pad}"
    return orjson.dumps({"type": "message", "body": body, "client_msg_id": f"{sender}-{n}"}).decode()


async def send_saturated(
    ws: PicowsSocket, sender: Sender, deadline: int, limit: int, frame_for: Callable[[int], str]
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


async def send_closed(ws: PicowsSocket, target: Target, sender: Sender, deadline: int, limit: int, pad: str) -> None:
    await send_saturated(ws, sender, deadline, limit, lambda n: target.wrap(sender.frame(n, now_ns(), pad)))


async def send_open(
    ws: PicowsSocket, target: Target, sender: Sender, t0: int, interval: int, count: int, lag: array[int], pad: str
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
        await ws.send(target.wrap(sender.frame(n, due, pad)))
        sender.sent += 1


async def connect_room_clients(
    targets: Sequence[Target],
    rooms: Sequence[Room],
    per_room: int,
    senders: Sequence[Sender],
    native_pause_us: int,
) -> tuple[list[PicowsSocket], list[Receiver], list[int], NativePool | None]:
    """Open per_room clients in every room, client 0 of each being its sender, and
    clients 1.. C listeners, not in the lists returned (on Socket.IO, Python
    sockets too). Over several targets (instances of one service), room r's client
    k talks to target (r + k) mod n: every room has clients on every instance it can."""
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    start_seq = [0] * len(rooms)
    native = None
    in_python = 1

    def target_of(r: int, k: int) -> Target:
        return targets[(r + k) % len(targets)]

    async def one(r: int, k: int) -> tuple[PicowsSocket, Receiver]:
        target = target_of(r, k)
        async with limit:
            ws = await open_socket(target, rooms[r])
            last = await target.handshake(ws, rooms[r])
        if k == 0:
            start_seq[r] = last
        return ws, Receiver(senders[r], own=(k == 0), last_seq=last)

    pairs = await asyncio.gather(*(one(r, k) for r in range(len(rooms)) for k in range(in_python)))
    if in_python < per_room:
        native = NativePool([t.port for t in targets], native_pause_us)
        await native.start()
        for r, room in enumerate(rooms):
            for k in range(1, per_room):
                target = target_of(r, k)
                path = target.url(room).removeprefix(target.ws)
                room_name = room.key if isinstance(target, SocketIOTarget) else ""
                native.add(target.port, path, start_seq[r], isinstance(target, ServiceTarget), room_name)
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


async def run(args: argparse.Namespace) -> dict[str, Any]:
    targets = [make_target(args.target, port) for port in [args.port, *args.more_ports]]
    target = targets[0]
    rooms = await make_rooms(target, args.rooms, args.users, args.members)
    stats = Stats()
    senders = [Sender(r, asyncio.Semaphore(args.inflight), args.mix, rooms[r].mention) for r in range(len(rooms))]
    sockets, receivers, start_seq, native = await connect_room_clients(
        targets, rooms, args.clients_per_room, senders, args.native_pause_us
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
    started_unix = time.time()
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
    sending_unix = [round(started_unix, 3), round(started_unix + sending_s, 3)]

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
        "client": "picows" if native is None else "native",
        "mode": args.mode,
        "rooms": len(rooms),
        "clients_per_room": args.clients_per_room,
        "members": args.members,
        "mix": repr(args.mix) if args.mix else None,
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
        "sending_unix": sending_unix,
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


def comma_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def add_arguments(p: argparse.ArgumentParser) -> None:
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
    p.add_argument(
        "--mix",
        type=parse,
        default=PLAIN,
        help="service: shares of replies, @name and @room messages, e.g. replies=0.1,mentions=0.1,room=0.05",
    )
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
