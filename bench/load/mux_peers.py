"""The mux scenario's sockets and traffic: which rooms each user is in, what each
socket counts, and a saturated fan-out over the sockets of one phase."""

from __future__ import annotations

import argparse
import asyncio
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from load.broadcast import Sender, drain, send_saturated
from load.picows_client import PicowsSocket
from load.window import Window, now_ns, percentiles_ms


@dataclass(eq=False)
class Peer:
    """One socket of the mux scenario: a /ws socket with all its user's rooms, or a
    per-room socket with one. Frames are classified with substring checks, not
    decoded: the generator must stay cheaper per frame than the server."""

    ws: PicowsSocket
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


def mux_reader(
    peer: Peer, senders: Sequence[Sender], prefixes: Sequence[str] | None, stats: MuxStats
) -> Callable[[str], None]:
    """What one socket does with each frame. prefixes: '{"room":<id>,' per room
    index on /ws (checked against the body's room), None on per-room sockets."""
    latencies, counts, sends = stats.latencies, peer.counts, peer.sends

    def on_frame(text: str) -> None:
        t = now_ns()
        i = text.find('"type":"', 0, 48)
        if text.startswith('message"', i + 8):
            j = text.find('"body":"', i)
            room_text, n_text, ts, _ = text[j + 8 : j + 80].split(":", 3)
            room, n = int(room_text), int(n_text)
            c = counts[room]
            if n >= len(c):
                c.extend(bytes(n - len(c) + 1024))
            if c[n] < 255:
                c[n] += 1
            latencies.append(t - int(ts))
            stats.delivered += 1
            stats.last_delivery = t
            if prefixes is not None and not text.startswith(prefixes[room]):
                stats.misrouted += 1
            if room == sends:
                senders[room].window.release()
        elif text.startswith('presence"', i + 8):
            stats.presence += 1
        elif text.startswith('synced"', i + 8):
            peer.synced += 1
            if peer.synced + peer.failed == peer.want:
                peer.took = t - peer.t0
                peer.done.set()
        elif text.startswith("error", i + 8):
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

    return on_frame


async def mux_read(peer: Peer, senders: Sequence[Sender], prefixes: Sequence[str] | None, stats: MuxStats) -> None:
    """Count every frame of one socket until it closes."""
    peer.ws.listen(mux_reader(peer, senders, prefixes, stats))
    await peer.ws.disconnected
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
    sender_ws: Sequence[PicowsSocket],
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

    async def send(r: int, ws: PicowsSocket, deadline: int) -> None:
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
