"""/ws at its edges: a room ending during its replay, frames naming many rooms, answers' ref."""

from __future__ import annotations

from tests.realtime.conftest import ServerFactory, auth
from tests.realtime.mux import connect_mux, room_of
from tests.storing import store_message


async def test_nothing_of_a_room_follows_its_unsubscribed_even_mid_replay(make_server: ServerFactory) -> None:
    server = await make_server(send_queue=8)  # the replay waits for the client to read
    owner, owner_token = await server.user("olga")
    bob, bob_token = await server.user("bob")
    room = await server.room(owner_token, "secret", private=True)
    r = await server.http.post(f"/rooms/{room['id']}/members", json={"username": "bob"}, headers=auth(owner_token))
    assert r.status_code == 201
    total = 600  # about 2.4 MB: more than the socket buffers usually hold while bob does not read
    for i in range(total):
        await store_message(server.state.engine, room["id"], owner["id"], f"m{i} " + "x" * 3900)
    mux = await connect_mux(server, bob_token, max_queue=1)
    await mux.subscribe([(room["id"], 0)])
    assert (await mux.next_type("welcome"))["room"]["id"] == room["id"]
    r = await server.http.delete(f"/rooms/{room['id']}/members/{bob['id']}", headers=auth(owner_token))
    assert r.status_code == 204
    ended = await mux.next_type("unsubscribed", room["id"])
    assert ended["reason"] == "removed from room"
    await mux.ping("after")
    await mux.pong("after")  # everything sent before the pong has been read
    after = mux.log[mux.log.index(ended) + 1 :]
    assert [f for f in after if room_of(f) == room["id"]] == []
    await mux.close()


async def test_a_subscribe_naming_more_rooms_than_the_queue_holds_is_answered_room_by_room(
    make_server: ServerFactory,
) -> None:
    server = await make_server(send_queue=100)
    _, token = await server.user("alice")
    mux = await connect_mux(server, token)
    missing = [10**9 + i for i in range(300)]
    await mux.subscribe(missing, ref="many")
    for room_id in missing:
        error = await mux.error("room_not_found", room_id)
        assert error["ref"] == "many"
    await mux.ping("still")
    await mux.pong("still")
    await mux.close()


async def test_the_answer_to_a_resent_message_echoes_its_ref(make_server: ServerFactory) -> None:
    server = await make_server()
    _, token = await server.user("alice")
    room = await server.room(token, "lobby")
    mux = await connect_mux(server, token)
    await mux.subscribed([room["id"]])
    await mux.say(room["id"], "hello", "c1", ref="first")
    original = await mux.next_type("message", room["id"])
    await mux.say(room["id"], "hello", "c1", ref="again")
    repeat = await mux.next_type("message", room["id"])
    assert repeat["duplicate"] is True and repeat["ref"] == "again" and repeat["seq"] == original["seq"]
    await mux.close()
