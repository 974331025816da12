"""the `read` frame on both sockets, and `read` frames to the user's other /ws sockets."""

from __future__ import annotations

from typing import Any

from tests.realtime.conftest import Client, LiveServer, ServerFactory
from tests.realtime.mux import Mux, connect_mux
from tests.storing import store_message
from tests.streams import mark, marker, mux_entry, mux_replayed, next_entry, post, replayed


async def _marker(server: LiveServer, token: str, room: int) -> int:
    entry = await marker(server, token, room)
    assert entry is not None
    seq: int = entry["last_read_seq"]
    return seq


async def _quiet(mux: Mux, kind: str = "read") -> None:
    """Everything the server queued for this socket has been read, and none was of this type."""
    await mux.pong()
    assert not [f for f in mux.log if f["type"] == kind], mux.log


async def test_a_read_frame_on_a_room_socket_moves_the_marker_and_tells_the_users_ws_sockets(
    server: LiveServer,
) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await post(server, bob, room, "joining in")  # seq 1; bob is no member yet
    r = await server.http.post(f"/rooms/{room}/join", headers={"Authorization": f"Bearer {bob}"})
    assert r.status_code == 204
    socket = await server.connect(room, bob)
    await replayed(socket)
    device = await connect_mux(server, bob)  # subscribed to nothing: still told
    alices = await connect_mux(server, alice)
    _, carol = await server.user("carol")
    await post(server, carol, room, "a", "b", "c")  # 2-4
    for _ in range(3):
        await next_entry(socket)
    await socket.send({"type": "read", "seq": 3})
    assert await device.next_type("read") == {"type": "read", "room": room, "seq": 3}
    assert await _marker(server, bob, room) == 3
    await socket.send({"type": "read", "seq": 1000})  # clamped to what the socket received
    assert await device.next_type("read") == {"type": "read", "room": room, "seq": 4}
    assert await _marker(server, bob, room) == 4
    await _quiet(alices)  # markers are private to their user


async def test_bad_read_frames_are_answered_and_the_socket_stays_open(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    room = (await server.room(alice, "general"))["id"]
    other = (await server.room(alice, "other"))["id"]
    await post(server, alice, room, "one")
    socket = await server.connect(room, alice)
    await replayed(socket)
    mux = await connect_mux(server, alice)
    await mux.subscribe([room])
    await mux.next_type("synced", room)
    bad: list[Any] = [-1, 2**31, "1", None, 1.5, 1.0, True, [1]]
    for seq in bad:
        await socket.send({"type": "read", "seq": seq})
        error = await socket.recv()
        assert error["type"] == "error" and error["code"] == "invalid_frame", (seq, error)
        await mux.send({"type": "read", "room": room, "seq": seq, "ref": "r1"})
        error = await mux.next_type("error")
        assert (error["code"], error["room"], error["ref"]) == ("invalid_frame", room, "r1"), (seq, error)
    await socket.send({"type": "read"})
    assert (await socket.recv())["code"] == "invalid_frame"
    await mux.send({"type": "read", "seq": 1, "ref": "no-room"})
    error = await mux.next_type("error")
    assert (error["code"], error["ref"]) == ("invalid_frame", "no-room")
    await mux.send({"type": "read", "room": other, "seq": 1, "ref": "r2"})
    error = await mux.next_type("error")
    assert (error["code"], error["room"], error["ref"]) == ("not_subscribed", other, "r2")
    await socket.send({"type": "ping"})
    assert await socket.recv() == {"type": "pong"}
    await mux.pong()
    assert socket.ws.close_code is None and mux.ws.close_code is None


async def test_the_users_other_ws_sockets_are_told_the_sending_one_is_not(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await server.http.post(f"/rooms/{room}/join", headers={"Authorization": f"Bearer {bob}"})
    await post(server, alice, room, "one", "two", "three")
    phone, laptop, alices = (
        await connect_mux(server, bob),
        await connect_mux(server, bob),
        await connect_mux(server, alice),
    )
    room_socket = await server.connect(room, bob)
    await replayed(room_socket)
    await phone.subscribe([(room, 0)])
    await mux_replayed(phone, room)
    await phone.send({"type": "read", "room": room, "seq": 2, "ref": "mine"})
    assert await laptop.next_type("read") == {"type": "read", "room": room, "seq": 2}
    await _quiet(phone)  # no answer on success, and not told what it did itself
    await room_socket.send({"type": "ping"})
    assert await room_socket.recv() == {"type": "pong"}  # per-room sockets get no read frames
    # REST moves it: every /ws socket of the user is told, the one that read before too.
    assert (await mark(server, bob, room, 3)).status_code == 204
    for mux in (phone, laptop):
        assert await mux.next_type("read") == {"type": "read", "room": room, "seq": 3}
    # A marker that does not move tells nobody: the next read frame is the next move.
    await phone.send({"type": "read", "room": room, "seq": 3})
    assert (await mark(server, bob, room, 1)).status_code == 204
    await post(server, alice, room, "four")
    assert (await mux_entry(phone, room))["seq"] == 4
    await phone.send({"type": "read", "room": room, "seq": 4})
    assert await laptop.next_type("read") == {"type": "read", "room": room, "seq": 4}
    await _quiet(alices)


async def test_a_read_is_clamped_to_what_the_socket_received(make_server: ServerFactory) -> None:
    server = await make_server(lost_publish_sweep_seconds=1)  # the unpublished entry arrives within 2 s
    alice_user, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await server.http.post(f"/rooms/{room}/join", headers={"Authorization": f"Bearer {bob}"})
    await post(server, alice, room, "one", "two")
    reader, watcher = await connect_mux(server, bob), await connect_mux(server, bob)
    await reader.subscribe([(room, 0)])
    await mux_replayed(reader, room)
    # Stored, not yet published: the room's last_seq is 3, the reader has received 2.
    await store_message(server.state.engine, room, alice_user["id"], "three")
    await reader.send({"type": "read", "room": room, "seq": 3})
    assert await watcher.next_type("read") == {"type": "read", "room": room, "seq": 2}
    entry = await marker(server, bob, room)
    assert entry is not None and (entry["last_read_seq"], entry["room"]["last_seq"]) == (2, 3)
    # At or below this socket's last read: nothing is written, nobody is told.
    for seq in (1, 2, 3):
        await reader.send({"type": "read", "room": room, "seq": seq})
    # The feed reads the seq it missed from the database; once received, it can be read.
    assert (await mux_entry(reader, room))["seq"] == 3
    await reader.send({"type": "read", "room": room, "seq": 3})
    assert await watcher.next_type("read") == {"type": "read", "room": room, "seq": 3}
    assert await _marker(server, bob, room) == 3


async def test_a_read_frame_of_a_non_member_keeps_nothing(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, stranger = await server.user("stranger")
    room = (await server.room(alice, "general"))["id"]
    await post(server, alice, room, "one")
    socket: Client = await server.connect(room, stranger)
    await replayed(socket)
    device = await connect_mux(server, stranger)
    await socket.send({"type": "read", "seq": 1})
    await socket.send({"type": "ping"})
    assert await socket.recv() == {"type": "pong"}
    await _quiet(device)
    assert await marker(server, stranger, room) is None


async def test_sending_past_others_entries_tells_the_senders_ws_sockets(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    devices = [await connect_mux(server, alice), await connect_mux(server, alice)]
    bobs = await connect_mux(server, bob)
    sender = devices[0]
    await sender.subscribe([(room, 0)])
    await mux_replayed(sender, room)
    for n in range(1, 4):  # 1-3: nothing of others is passed, the echo says it all
        await sender.said(room, f"a{n}", f"a{n}")
    for device in devices:
        await _quiet(device)
    await post(server, bob, room, "b1")  # 4
    await sender.said(room, "a4", "a4")  # 5: alice's marker passes bob's message
    for device in devices:
        assert await device.next_type("read") == {"type": "read", "room": room, "seq": 5}
    assert await _marker(server, alice, room) == 5
    await _quiet(bobs)
