"""Matrix client-server API load (Synapse): users registered with the shared
secret, rooms created and joined over the API, messages sent with
`PUT /rooms/{room}/send/m.room.message/{txnId}` and received by `/sync`
long-polls (with `since`, and a filter that keeps only the rooms' timelines).

`broadcast` is the broadcast step's counterpart: rooms of clients, client 0 of
each sending, every client (sender too) a user of its own with one /sync loop;
saturated (a window of messages whose echo, through the sender's own /sync, frees
a slot; `--window response`: the PUT's answer, i.e. the event stored) or at a
fixed rate. Bodies are "<sender>:<n>:<t_ns>:<padding>" as in broadcast.py, so
latency, lost and duplicated are counted the same way. `connect` times initial
/syncs of distinct users of one room (what a client does when it comes online)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import secrets
from array import array
from dataclasses import dataclass, field
from typing import Any

import orjson

from load.http11 import Http, HTTPError, query
from load.window import Window, now_ns, percentiles_ms

HELP = "Matrix client-server API (Synapse): rooms x clients over PUT /send and /sync, or initial /syncs"
API = "/_matrix/client/v3"
PASSWORD = "bench-password-1"
# Only the joined rooms' timelines: no presence, account data, receipts or typing in the answers.
NOT_ROOMS: dict[str, list[str]] = {"types": []}


def sync_filter(limit: int) -> str:
    room = {"timeline": {"limit": limit}, "state": {"lazy_load_members": True}, "ephemeral": NOT_ROOMS}
    room |= {"account_data": NOT_ROOMS}
    return orjson.dumps({"room": room, "presence": NOT_ROOMS, "account_data": NOT_ROOMS}).decode()


LIVE_FILTER = sync_filter(1000)


@dataclass
class User:
    user_id: str
    token: str


async def register(http: Http, secret: str, name: str) -> User:
    """A user by the shared-secret admin API (a nonce, then an HMAC of the fields)."""
    nonce = (await http.json("GET", "/_synapse/admin/v1/register"))["nonce"]
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), name.encode(), PASSWORD.encode(), b"notadmin"]))
    body = {"nonce": nonce, "username": name, "password": PASSWORD, "admin": False, "mac": mac.hexdigest()}
    done = await http.json("POST", "/_synapse/admin/v1/register", body=body)
    return User(done["user_id"], done["access_token"])


async def make_rooms(http: Http, secret: str, rooms: int, per_room: int) -> list[tuple[str, list[User]]]:
    """rooms public rooms, each created by its first user and joined by per_room - 1 more."""
    run = secrets.token_hex(3)
    limit = asyncio.Semaphore(8)

    async def user(i: int) -> User:
        async with limit:
            return await register(http, secret, f"b{run}_{i}")

    users = list(await asyncio.gather(*(user(i) for i in range(rooms * per_room))))

    async def room(r: int) -> tuple[str, list[User]]:
        members = users[r * per_room : (r + 1) * per_room]
        async with limit:
            body = {"preset": "public_chat", "name": f"bench-{run}-{r}"}
            room_id = str((await http.json("POST", f"{API}/createRoom", members[0].token, body))["room_id"])
        for member in members[1:]:
            async with limit:
                await http.json("POST", f"{API}/join/{room_id}", member.token, {})
        return room_id, members

    return list(await asyncio.gather(*(room(r) for r in range(rooms))))


@dataclass
class Sender:
    index: int
    window: asyncio.Semaphore
    sent: int = 0
    stored: int = 0


@dataclass
class Stats:
    latencies: array[int] = field(default_factory=lambda: array("q"))
    delivered: int = 0
    last_delivery: int = 0
    limited: int = 0  # /sync answers that left events out (would count as lost)
    errors: int = 0


@dataclass
class Client:
    user: User
    room_id: str
    sender: Sender
    own: bool
    since: str = ""
    counts: bytearray = field(default_factory=bytearray)


async def initial_sync(http: Http, user: User, filter_json: str) -> dict[str, Any]:
    return await http.json("GET", f"{API}/sync?{query(filter=filter_json, timeout='0')}", user.token)  # type: ignore[no-any-return]


async def sync_loop(http: Http, c: Client, stats: Stats, echo_window: bool) -> None:
    """Long-poll /sync until cancelled, counting every message of the client's room.
    Each client has its own connection (a /sync holds one)."""
    live = f"{API}/sync?{query(filter=LIVE_FILTER, timeout='30000')}&since="
    while True:
        try:
            answer = await http.json("GET", live + c.since, c.user.token)
        except (HTTPError, OSError, asyncio.IncompleteReadError, orjson.JSONDecodeError):
            stats.errors += 1
            await asyncio.sleep(0.1)
            continue
        t = now_ns()
        c.since = answer["next_batch"]
        timeline = answer.get("rooms", {}).get("join", {}).get(c.room_id, {}).get("timeline")
        if not timeline:
            continue
        stats.limited += bool(timeline.get("limited"))
        for event in timeline.get("events", ()):
            body = event.get("content", {}).get("body") if event.get("type") == "m.room.message" else None
            if not body:
                continue
            origin, n_text, ts, _ = body.split(":", 3)
            n = int(n_text)
            if n >= len(c.counts):
                c.counts.extend(bytes(n - len(c.counts) + 1024))
            if c.counts[n] < 255:
                c.counts[n] += 1
            stats.latencies.append(t - int(ts))
            stats.delivered += 1
            stats.last_delivery = t
            if echo_window and c.own and int(origin) == c.sender.index:
                c.sender.window.release()


async def send(http: Http, c: Client, n: int, ts: int, pad: str, release: bool) -> None:
    body = {"msgtype": "m.text", "body": f"{c.sender.index}:{n}:{ts}:{pad}"}
    url = f"{API}/rooms/{c.room_id}/send/m.room.message/{c.sender.index}-{n}-{secrets.token_hex(3)}"
    await http.json("PUT", url, c.user.token, body)
    c.sender.stored += 1
    if release:
        c.sender.window.release()


async def run_broadcast(args: argparse.Namespace, http: Http) -> dict[str, Any]:
    rooms = await make_rooms(http, args.shared_secret, args.rooms, args.clients_per_room)
    senders = [Sender(r, asyncio.Semaphore(args.inflight)) for r in range(len(rooms))]
    listen = args.window == "echo" or args.mode == "rate"
    clients = [
        Client(user, room_id, senders[r], own=(k == 0))
        for r, (room_id, members) in enumerate(rooms)
        for k, user in enumerate(members if listen else members[:1])
    ]
    limit = asyncio.Semaphore(16)

    async def first(c: Client) -> None:
        async with limit:
            c.since = (await initial_sync(http, c.user, sync_filter(1)))["next_batch"]

    await asyncio.gather(*(first(c) for c in clients))
    stats = Stats()
    loops = [
        asyncio.create_task(sync_loop(Http(args.port), c, stats, args.window == "echo")) for c in clients if listen
    ]
    await asyncio.sleep(1)  # every /sync parked before the window opens
    pad = "x" * max(0, args.body_size - 40)
    own = [c for c in clients if c.own]
    lag: array[int] = array("q")
    window = Window(args.server_pid, side=dict(args.side_pid))
    window.start()
    t0 = window.t0
    pending: set[asyncio.Task[None]] = set()
    if args.mode == "saturated":
        deadline = t0 + int(args.duration * 1e9)

        async def closed(c: Client) -> None:
            for n in range(10**9):
                try:
                    async with asyncio.timeout(max(0.0, (deadline - now_ns()) / 1e9)):
                        await c.sender.window.acquire()
                except TimeoutError:
                    return
                task = asyncio.create_task(send(http, c, n, now_ns(), pad, args.window == "response"))
                pending.add(task)
                task.add_done_callback(pending.discard)
                c.sender.sent += 1

        await asyncio.gather(*(closed(c) for c in own))
    else:
        interval = int(1e9 * len(own) / args.rate)
        count = max(1, int(args.rate / len(own) * args.duration))

        async def opened(i: int, c: Client) -> None:
            for n in range(count):
                due = t0 + i * interval // len(own) + n * interval
                await asyncio.sleep(max(0.0, (due - now_ns()) / 1e9))
                lag.append(now_ns() - due)
                task = asyncio.create_task(send(http, c, n, due, pad, False))
                pending.add(task)
                task.add_done_callback(pending.discard)
                c.sender.sent += 1

        await asyncio.gather(*(opened(i, c) for i, c in enumerate(own)))
    sending_s = (now_ns() - t0) / 1e9
    sent = sum(s.sent for s in senders)
    expected = sent * args.clients_per_room if listen else sent
    seen, since = -1, now_ns()
    while True:  # drain: every delivery (or answer) in, or none for --drain-idle
        progress_now = stats.delivered if listen else sum(s.stored for s in senders)
        if progress_now >= expected or now_ns() - since > args.drain_idle * 1e9:
            break
        if progress_now != seen:
            seen, since = progress_now, now_ns()
        await asyncio.sleep(0.02)
    cpu = window.stop()
    if pending:
        await asyncio.wait(pending, timeout=10)
    for task in loops:
        task.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    stored = sum(s.stored for s in senders)
    lost = dup = 0
    for c in clients if listen else ():
        n = c.sender.sent
        if len(c.counts) < n:
            c.counts.extend(bytes(n - len(c.counts)))
        lost += c.counts.count(0, 0, n)
        dup += sum(c.counts) - (len(c.counts) - c.counts.count(0))
    span = (max(stats.last_delivery, t0 + int(sending_s * 1e9)) - t0) / 1e9
    delivered = stats.delivered if listen else stored
    return {
        "target": args.target,
        "client": "http11 /sync",
        "mode": args.mode,
        "window": args.window if args.mode == "saturated" else None,
        "rooms": len(rooms),
        "clients_per_room": args.clients_per_room,
        "connections": len(clients),
        "inflight": args.inflight if args.mode == "saturated" else None,
        "rate_target": args.rate if args.mode == "rate" else None,
        "sent": sent,
        "delivered": delivered,
        "expected": expected,
        "lost": lost,
        "duplicated": dup,
        "limited_syncs": stats.limited,
        "sync_errors": stats.errors,
        "sending_s": round(sending_s, 3),
        "span_s": round(span, 3),
        "msgs_per_s": round(sent / sending_s, 1),
        "deliveries_per_s": round(delivered / span, 1) if listen else None,
        "stored": stored,
        "stored_per_s": round(stored / sending_s, 1),
        **percentiles_ms(stats.latencies),
        **{f"send_lag_{k}": v for k, v in percentiles_ms(lag).items() if k in ("p99_ms", "max_ms")},
        **cpu.as_dict(),
        "server_cpu_us_per_delivery": cpu.server_per(delivered, 1e6),
        "server_cpu_us_per_message": cpu.server_per(sent, 1e6),
        "gen_cpu_us_per_delivery": round(cpu.gen_cpu_s * 1e6 / delivered, 2) if delivered else None,
    }


async def run_connect(args: argparse.Namespace, http: Http) -> dict[str, Any]:
    """--connections distinct users of one room, each an initial /sync (timeline of
    --history events, as the service's history on connect), --concurrency at once."""
    ((room_id, users),) = await make_rooms(http, args.shared_secret, 1, args.connections + 1)
    pad = "x" * max(0, args.body_size - 40)
    for n in range(args.messages):
        body = {"msgtype": "m.text", "body": f"0:{n}:0:{pad}"}
        await http.json("PUT", f"{API}/rooms/{room_id}/send/m.room.message/fill-{n}", users[0].token, body)
    filter_json = sync_filter(args.history)
    times: array[int] = array("q")
    limit = asyncio.Semaphore(args.concurrency)

    async def one(user: User) -> None:
        async with limit:
            t = now_ns()
            answer = await initial_sync(http, user, filter_json)
            times.append(now_ns() - t)
            if room_id not in answer.get("rooms", {}).get("join", {}):
                raise RuntimeError("initial /sync without the room")

    window = Window(args.server_pid, side=dict(args.side_pid))
    window.start()
    await asyncio.gather(*(one(u) for u in users[1:]))
    cpu = window.stop()
    n = len(users) - 1
    return {
        "target": args.target,
        "connections": n,
        "concurrency": args.concurrency,
        "room_messages": args.messages,
        "history": args.history,
        **{f"wall_{k}": v for k, v in percentiles_ms(times).items()},
        **cpu.as_dict(),
        "connects_per_s": cpu.per_s(n),
        "server_cpu_us_per_connect": cpu.server_per(n, 1e6),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    http = Http(args.port)  # setup, sends and initial /syncs; each /sync loop has its own
    try:
        if args.step == "connect":
            return await run_connect(args, http)
        return await run_broadcast(args, http)
    finally:
        await http.close()


def side_pid(text: str) -> tuple[str, int]:
    name, pid = text.split("=", 1)
    return name, int(pid)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("step", choices=("broadcast", "connect"))
    p.add_argument("--target", default="synapse", help="a label for the results (synapse-sqlite, ...)")
    p.add_argument("--shared-secret", required=True, help="the homeserver's registration_shared_secret")
    p.add_argument("--rooms", type=int, default=1)
    p.add_argument("--clients-per-room", type=int, default=10)
    p.add_argument("--mode", choices=("saturated", "rate"), default="saturated")
    p.add_argument("--window", choices=("echo", "response"), default="echo", help="saturated: what frees a slot")
    p.add_argument("--inflight", type=int, default=4, help="saturated: unacknowledged messages per sender")
    p.add_argument("--rate", type=float, default=20, help="rate: messages/s over all senders")
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--drain-idle", type=float, default=3)
    p.add_argument("--connections", type=int, default=0, help="connect: distinct users, one initial /sync each")
    p.add_argument("--concurrency", type=int, default=1, help="connect: initial /syncs at once")
    p.add_argument("--messages", type=int, default=0, help="connect: messages in the room first")
    p.add_argument("--history", type=int, default=50, help="connect: timeline events in the initial /sync")
    p.add_argument("--side-pid", type=side_pid, action="append", default=[], metavar="NAME=PID")
