"""a follower's marker in a thread, by POST
/rooms/{id}/threads/{seq}/read and by the `read` frame with `thread`."""

from __future__ import annotations

from tests.markers.threads import read_thread, reply, thread_state
from tests.realtime.conftest import LiveServer, ServerFactory, auth
from tests.realtime.mux import Mux, connect_mux
from tests.streams import edit, join, mux_replayed, post, replayed


async def _quiet(mux: Mux, since: int = 0) -> None:
    """Everything queued for this socket has been read, and none of it (after the
    first `since` frames) was a `read` frame."""
    await mux.pong()
    assert not [f for f in mux.log[since:] if f["type"] == "read"], mux.log[since:]


async def test_the_marker_moves_forward_only_and_clamps_to_the_newest_reply(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await join(server, bob, room)
    await post(server, alice, room, "plan")  # 1
    await reply(server, bob, room, 1, "b1", "b2")  # 2, 3
    await post(server, alice, room, "elsewhere")  # 4
    await reply(server, bob, room, 1, "b3")  # 5
    await post(server, alice, room, "after")  # 6
    # The root's author follows from the first reply, which is unread to them.
    assert await thread_state(server, alice, room, 1) == (1, 3, 0)
    assert await thread_state(server, bob, room, 1) == (5, 0, 0)  # sending moves the sender's
    for seq, expected in ((3, (3, 1, 0)), (2, (3, 1, 0)), (0, (3, 1, 0)), (4, (4, 1, 0)), (100, (5, 0, 0))):
        r = await read_thread(server, alice, room, 1, seq)
        assert r.status_code == 204 and r.content == b"", r.text
        assert await thread_state(server, alice, room, 1) == expected, seq
    assert (await read_thread(server, alice, room, 1, 2**31 - 1)).status_code == 204
    assert await thread_state(server, alice, room, 1) == (5, 0, 0)  # not 6: no reply there
    await reply(server, bob, room, 1, "b4")  # 7
    assert await thread_state(server, alice, room, 1) == (5, 1, 0)
    await reply(server, alice, room, 1, "a1")  # 8: her own reply moves her marker past bob's
    assert await thread_state(server, alice, room, 1) == (8, 0, 0)


async def test_a_non_follower_reading_a_thread_keeps_nothing(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, carol = await server.user("carol")
    room = (await server.room(alice, "general"))["id"]
    await join(server, carol, room)
    await post(server, alice, room, "plan")
    await reply(server, alice, room, 1, "a1", "a2")
    r = await read_thread(server, carol, room, 1, 3)
    assert r.status_code == 204, r.text
    assert await thread_state(server, carol, room, 1) is None
    await reply(server, carol, room, 1, "c1")  # 4: now she follows, from her reply
    assert await thread_state(server, carol, room, 1) == (4, 0, 0)


async def test_what_is_not_a_thread_is_not_found_and_bad_seqs_are_refused(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, stranger = await server.user("stranger")
    room = (await server.room(alice, "general"))["id"]
    private = (await server.room(alice, "private", private=True))["id"]
    await post(server, alice, room, "plan")  # 1
    await reply(server, alice, room, 1, "a1")  # 2
    assert (await edit(server, alice, room, 1, "the plan")).status_code == 200  # 3
    await post(server, alice, private, "secret")
    for seq in (2, 3, 4, 2**31 - 1):  # a reply, an edit, nothing yet, nothing ever
        r = await read_thread(server, alice, room, seq, 1)
        assert r.status_code == 404 and r.json() == {"detail": "thread not found"}, (seq, r.text)
    for room_id in (private, 99999):
        r = await read_thread(server, stranger, room_id, 1, 1)
        assert r.status_code == 404 and r.json() == {"detail": "room not found"}, r.text
    for seq in (-1, 2**31, 1.5, "1", True, None, [1]):
        r = await read_thread(server, alice, room, 1, seq)
        assert r.status_code == 422, (seq, r.text)
    for body in ({}, {"seq": 1, "thread": 1}):
        r = await server.http.post(f"/rooms/{room}/threads/1/read", json=body, headers=auth(alice))
        assert r.status_code == 422, (body, r.text)
    for path_seq in ("0", "-1", str(2**31), "x"):
        r = await server.http.post(f"/rooms/{room}/threads/{path_seq}/read", json={"seq": 1}, headers=auth(alice))
        assert r.status_code == 422, (path_seq, r.text)
    r = await server.http.post(f"/rooms/{room}/threads/1/read", json={"seq": 1})
    assert r.status_code == 401
    assert await thread_state(server, alice, room, 1) == (2, 0, 0)


async def test_a_thread_read_frame_moves_the_marker_and_tells_the_users_other_ws_sockets(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await join(server, bob, room)
    await post(server, bob, room, "plan")  # 1
    await reply(server, alice, room, 1, "a1", "a2", "a3")  # 2-4
    await post(server, alice, room, "top")  # 5
    room_socket = await server.connect(room, bob)
    await replayed(room_socket)
    phone, laptop, alices = (
        await connect_mux(server, bob),
        await connect_mux(server, bob),
        await connect_mux(server, alice),
    )
    await phone.subscribe([(room, 0)])
    await mux_replayed(phone, room)
    assert await thread_state(server, bob, room, 1) == (1, 3, 0)
    # The per-room socket: every /ws socket of the user hears of it, with `thread`.
    await room_socket.send({"type": "read", "seq": 2, "thread": 1})
    for device in (phone, laptop):
        assert await device.next_type("read") == {"type": "read", "room": room, "seq": 2, "thread": 1}
    # A /ws socket: the others hear of it, not the one that read.
    heard = len(phone.log)
    await phone.send({"type": "read", "room": room, "seq": 3, "thread": 1, "ref": "mine"})
    assert await laptop.next_type("read") == {"type": "read", "room": room, "seq": 3, "thread": 1}
    await _quiet(phone, heard)
    assert await thread_state(server, bob, room, 1) == (3, 1, 0)
    # Clamped to the thread's newest reply (4), though the socket has received 5.
    await room_socket.send({"type": "read", "seq": 5, "thread": 1})
    for device in (phone, laptop):
        assert await device.next_type("read") == {"type": "read", "room": room, "seq": 4, "thread": 1}
    # Nothing moves, nobody is told: back, again, a thread not followed or not a thread.
    for frame in ({"seq": 2, "thread": 1}, {"seq": 5, "thread": 1}, {"seq": 5, "thread": 5}, {"seq": 5, "thread": 3}):
        await phone.send({"type": "read", "room": room, **frame})
    # REST: every /ws socket is told, the room's own marker is another one.
    await reply(server, alice, room, 1, "a4")  # 6
    assert (await read_thread(server, bob, room, 1, 6)).status_code == 204
    for device in (phone, laptop):
        assert await device.next_type("read") == {"type": "read", "room": room, "seq": 6, "thread": 1}
    await phone.send({"type": "read", "room": room, "seq": 6})
    assert await laptop.next_type("read") == {"type": "read", "room": room, "seq": 6}
    assert await thread_state(server, bob, room, 1) == (6, 0, 0)
    await _quiet(alices)  # markers are private to their user


async def test_a_thread_read_is_clamped_to_what_the_socket_received(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    room = (await server.room(alice, "general"))["id"]
    await join(server, bob, room)
    await post(server, bob, room, "plan")  # 1
    reader, watcher = await connect_mux(server, bob), await connect_mux(server, bob)
    await reader.subscribe([(room, 0)])
    await mux_replayed(reader, room)
    # A thread whose root this socket has not received has nothing it could have read.
    await reader.send({"type": "read", "room": room, "seq": 1, "thread": 2})
    await reply(server, alice, room, 1, "a1", "a2")  # 2, 3
    await reader.next(lambda f: f.get("seq") == 3)
    await reader.send({"type": "read", "room": room, "seq": 99, "thread": 1})
    assert await watcher.next_type("read") == {"type": "read", "room": room, "seq": 3, "thread": 1}
    heard = len(watcher.log)
    await reader.send({"type": "read", "room": room, "seq": 3, "thread": 1})  # again: nothing
    assert await thread_state(server, bob, room, 1) == (3, 0, 0)
    await _quiet(watcher, heard)


async def test_a_thread_marker_moved_on_one_instance_reaches_the_users_ws_socket_on_another(
    make_server: ServerFactory, redis_prefix: str
) -> None:
    from tests.conftest import REDIS_URL

    one = await make_server(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    other = await make_server(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    _, alice = await one.user("alice")
    _, bob = await one.user("bob")
    room = (await one.room(alice, "general"))["id"]
    await join(one, bob, room)
    await post(one, bob, room, "plan")
    await reply(one, alice, room, 1, "a1", "a2")
    device = await connect_mux(other, bob)
    assert (await read_thread(one, bob, room, 1, 2)).status_code == 204
    assert await device.next_type("read") == {"type": "read", "room": room, "seq": 2, "thread": 1}
