"""A client for the multiplexed socket `GET /ws` (SPEC 3.3), on top of the realtime fixtures.

`Mux` reads selectively: a helper waiting for one room's frames keeps every other
frame it reads in an inbox for later helpers, so nothing read is ever lost. Every
frame read is also appended to `log`, in arrival order, so a test can check the
order of the whole connection afterwards."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.realtime.conftest import TIMEOUT, Client, LiveServer

Frame = dict[str, Any]
# A room to subscribe: its id alone (no cursor), or (id, since) with since None or a seq.
RoomSpec = int | tuple[int, int | None]

# Frames whose `room` is the Room object rather than its id.
ROOM_OBJECT_FRAMES = {"welcome", "room_added", "room_created"}
# Frames that announce a room to the user, not part of its stream.
ANNOUNCEMENTS = {"room_added", "room_created"}


def mux_url(base: str, token: str | None, **extra: str) -> str:
    """The /ws URL on a server at `base` (http://host:port)."""
    params = {**({"token": token} if token is not None else {}), **extra}
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{base.replace('http', 'ws', 1)}/ws" + (f"?{query}" if query else "")


def room_of(frame: Frame) -> int | None:
    """The id of the room a frame is about, or None."""
    room = frame.get("room")
    if frame.get("type") in ROOM_OBJECT_FRAMES and isinstance(room, dict):
        return room.get("id")
    return room if isinstance(room, int) else None


def specs(rooms: Iterable[RoomSpec]) -> list[Frame]:
    out: list[Frame] = []
    for spec in rooms:
        room_id, since = spec if isinstance(spec, tuple) else (spec, None)
        out.append({"room": room_id, "since": since})
    return out


@dataclass
class Handshake:
    """One room's answer to a subscribe: welcome, the replayed messages, synced."""

    welcome: Frame
    replay: list[Frame]
    synced: Frame

    @property
    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.replay]


class Mux(Client):
    """One /ws connection. Presence and typing are skipped unless `ephemeral`."""

    def __init__(self, ws: ClientConnection, *, ephemeral: bool = False) -> None:
        super().__init__(ws, ephemeral=ephemeral)
        self.inbox: list[Frame] = []  # read, not yet taken by a helper
        self.log: list[Frame] = []  # everything read, in arrival order

    @classmethod
    async def open(cls, url: str, *, ephemeral: bool = False, **kwargs: Any) -> Mux:
        kwargs.setdefault("open_timeout", TIMEOUT)
        return cls(await connect(url, **kwargs), ephemeral=ephemeral)

    # Reading ---------------------------------------------------------------------

    async def recv(self, timeout: float = TIMEOUT) -> Frame:
        """The next frame: the oldest one kept in the inbox, else a new one from the socket."""
        if self.inbox:
            return self.inbox.pop(0)
        return await self._read(timeout)

    async def _read(self, timeout: float = TIMEOUT) -> Frame:
        frame = await Client.recv(self, timeout)
        self.log.append(frame)
        return frame

    async def next(self, predicate: Callable[[Frame], bool], timeout: float = TIMEOUT) -> Frame:
        """The first frame matching `predicate`; the others read meanwhile stay in the inbox."""
        for i, frame in enumerate(self.inbox):
            if predicate(frame):
                return self.inbox.pop(i)
        async with asyncio.timeout(timeout):
            while True:
                frame = await self._read(timeout)
                if predicate(frame):
                    return frame
                self.inbox.append(frame)

    async def next_of(self, room_id: int, timeout: float = TIMEOUT) -> Frame:
        """The next frame of this room's subscription (frames that only announce the room aside)."""
        return await self.next(lambda f: room_of(f) == room_id and f["type"] not in ANNOUNCEMENTS, timeout)

    async def next_type(self, kind: str, room_id: int | None = None, timeout: float = TIMEOUT) -> Frame:
        """The next frame of this type (about this room, when given)."""
        return await self.next(lambda f: f["type"] == kind and (room_id is None or room_of(f) == room_id), timeout)

    async def closed(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """Read (into the log) until the server closes; (code, reason)."""
        async with asyncio.timeout(timeout):
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await self._read(timeout)
        assert self.ws.close_code is not None
        return self.ws.close_code, self.ws.close_reason or ""

    async def hello(self) -> Frame:
        """The first frame of the connection, which must be hello."""
        frame = await self.recv()
        assert frame["type"] == "hello", frame
        return frame

    async def pong(self, ref: str | None = None) -> Frame:
        """Ping and wait for the pong: everything the server queued before it has been read."""
        await self.ping(ref)
        return await self.next_type("pong")

    # Sending ---------------------------------------------------------------------

    async def ping(self, ref: str | None = None) -> None:
        await self.send({"type": "ping", **({"ref": ref} if ref is not None else {})})

    async def subscribe(self, rooms: Iterable[RoomSpec], ref: str | None = None) -> None:
        await self.send({"type": "subscribe", "rooms": specs(rooms), **({"ref": ref} if ref is not None else {})})

    async def unsubscribe(self, rooms: Iterable[int], ref: str | None = None) -> None:
        await self.send({"type": "unsubscribe", "rooms": list(rooms), **({"ref": ref} if ref is not None else {})})

    async def say(self, room_id: int, body: str, client_msg_id: str | None = None, *, ref: str | None = None) -> None:
        frame: Frame = {"type": "message", "room": room_id, "body": body, "client_msg_id": client_msg_id}
        await self.send({**frame, **({"ref": ref} if ref is not None else {})})

    async def typing(self, room_id: int, ref: str | None = None) -> None:
        await self.send({"type": "typing", "room": room_id, **({"ref": ref} if ref is not None else {})})

    async def said(self, room_id: int, body: str, client_msg_id: str) -> Frame:
        """Send a message and wait for its echo (skipping other frames)."""
        await self.say(room_id, body, client_msg_id)
        return await self.next(
            lambda f: (
                f["type"] in ("message", "error") and room_of(f) == room_id and f.get("client_msg_id") == client_msg_id
            )
        )

    # Per-room answers ------------------------------------------------------------

    async def handshake(self, room_id: int) -> Handshake:  # type: ignore[override]
        """This room's welcome, replay and synced: the next frames about it must be exactly those."""
        welcome = await self.next_of(room_id)
        assert welcome["type"] == "welcome", welcome
        replay: list[Frame] = []
        while (frame := await self.next_of(room_id))["type"] == "message":
            replay.append(frame)
        assert frame["type"] == "synced", frame
        return Handshake(welcome, replay, frame)

    async def subscribed(self, rooms: Sequence[RoomSpec], ref: str | None = None) -> dict[int, Handshake]:
        """Subscribe and read every room's handshake; rooms answered with anything else fail."""
        await self.subscribe(rooms, ref)
        out: dict[int, Handshake] = {}
        for spec in rooms:
            room_id = spec[0] if isinstance(spec, tuple) else spec
            out[room_id] = await self.handshake(room_id)
        return out

    async def messages_of(self, room_id: int, count: int, timeout: float = TIMEOUT) -> list[Frame]:
        """The next `count` message frames of this room."""
        got: list[Frame] = []
        async with asyncio.timeout(timeout):
            while len(got) < count:
                got.append(await self.next(lambda f: f["type"] == "message" and room_of(f) == room_id, timeout))
        return got

    async def error(self, code: str, room_id: int | None = None) -> Frame:
        """The next error frame (about this room, when given); it must have this code."""
        frame = await self.next_type("error", room_id)
        assert frame["code"] == code, frame
        return frame

    # What the connection has shown ----------------------------------------------

    def about(self, room_id: int) -> list[Frame]:
        """Every frame read about this room, in arrival order."""
        return [f for f in self.log if room_of(f) == room_id]

    def stream(self, room_id: int) -> list[int]:
        """The seqs of the room's stream as shown: message frames, acknowledgements of duplicates left out."""
        return [f["seq"] for f in self.about(room_id) if f["type"] == "message" and not f.get("duplicate")]


async def connect_mux(
    server: LiveServer, token: str | None, *, ephemeral: bool = False, hello: bool = True, **kwargs: Any
) -> Mux:
    """Open /ws on a live server (reading hello unless told not to)."""
    mux = await Mux.open(mux_url(server.base, token), ephemeral=ephemeral, **kwargs)
    if hello:
        await mux.hello()
    return mux


def check_handshake_order(log: Sequence[Frame], rooms: Sequence[int]) -> None:
    """SPEC 3.3 on one subscribe: for each room in the order given, welcome, its replay, then synced.

    Live frames of rooms already synced may come in between; nothing else may. Message
    frames of a room between its welcome and synced are its replay."""
    handshake: list[tuple[str, int]] = []
    state: dict[int, str] = {}  # room -> "replaying" / "synced"
    for frame in log:
        room = room_of(frame)
        if room not in rooms:
            continue
        kind = frame["type"]
        if kind == "welcome":
            assert room not in state, f"a second welcome for room {room}: {frame}"
            state[room] = "replaying"
            handshake.append((kind, room))
        elif kind == "synced":
            assert state.get(room) == "replaying", f"synced for room {room} without its welcome: {frame}"
            state[room] = "synced"
            handshake.append((kind, room))
        elif kind == "message":
            assert room in state, f"a message of room {room} before its welcome: {frame}"
            if state[room] == "replaying":
                handshake.append(("replay", room))
    expected_rooms = [room for kind, room in handshake if kind == "welcome"]
    assert expected_rooms == list(rooms), (expected_rooms, rooms)
    # The handshakes do not interleave: each room's replay and synced follow its welcome directly.
    current: int | None = None
    for kind, room in handshake:
        if kind == "welcome":
            assert current is None, f"welcome of {room} inside the handshake of {current}"
            current = room
        else:
            assert room == current, f"{kind} of {room} inside the handshake of {current}"
            if kind == "synced":
                current = None
