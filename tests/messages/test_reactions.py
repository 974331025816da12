"""SPEC 3.7 and guarantee 10: reactions, their limits and toggling; each change an entry
of the stream with the count after it, the message's summary kept with it."""

from __future__ import annotations

from sqlalchemy import func, select

from service.tables import reactions
from tests.realtime.conftest import LiveServer, auth
from tests.streams import delete, events, last_seq, next_entry, post, react, replayed

THUMBS = "👍"
HEART = "❤️"  # two code points: a variation selector is no whitespace


async def test_reactions_toggle_and_each_change_reaches_sockets_with_the_count_after_it(server: LiveServer) -> None:
    alice, alice_token = await server.user("alice")
    bob, bob_token = await server.user("bob")
    room = (await server.room(alice_token, "general"))["id"]
    await post(server, alice_token, room, "react to me")  # 1
    watcher = await server.connect(room, alice_token, since=1)
    await replayed(watcher)

    assert await react(server, bob_token, room, 1, THUMBS) == 204  # 2
    assert await react(server, alice_token, room, 1, THUMBS) == 204  # 3
    assert await react(server, alice_token, room, 1, ":+1:") == 204  # 4
    assert await react(server, bob_token, room, 1, THUMBS) == 204  # had it: nothing stored
    assert await react(server, alice_token, room, 1, HEART, add=False) == 204  # never had it: nothing
    assert await react(server, bob_token, room, 1, THUMBS, add=False) == 204  # 5
    assert await react(server, bob_token, room, 1, THUMBS, add=False) == 204  # gone already: nothing
    assert await last_seq(server, bob_token, room) == 5

    live = [await next_entry(watcher) for _ in range(4)]
    who = {alice["id"]: alice["username"], bob["id"]: bob["username"]}
    assert [(f["seq"], f["target_seq"], f["emoji"], f["op"], f["count"], who[f["user"]["id"]]) for f in live] == [
        (2, 1, THUMBS, "add", 1, "bob"),
        (3, 1, THUMBS, "add", 2, "alice"),
        (4, 1, ":+1:", "add", 1, "alice"),
        (5, 1, THUMBS, "remove", 1, "bob"),
    ]
    assert set(live[0]) == {"type", "seq", "target_seq", "emoji", "op", "user", "count"}
    stream = await events(server, bob_token, room)
    assert stream[1:] == live
    fresh = await server.connect(room, bob_token, since=0)
    assert (await replayed(fresh))[1] == stream
    (message,) = await server.history(bob_token, room)
    assert message["reactions"] == [
        {"emoji": THUMBS, "count": 1, "user_ids": [alice["id"]]},
        {"emoji": ":+1:", "count": 1, "user_ids": [alice["id"]]},
    ]
    assert message["updated_seq"] == 5 and stream[0] == {"type": "message", **message}
    # Removed to the last user, an emoji leaves the summary; added again, it goes last.
    assert await react(server, alice_token, room, 1, THUMBS, add=False) == 204  # 6
    assert await react(server, alice_token, room, 1, THUMBS) == 204  # 7
    (message,) = await server.history(bob_token, room)
    assert [(r["emoji"], r["count"]) for r in message["reactions"]] == [(":+1:", 1), (THUMBS, 1)]


async def test_at_most_twenty_emoji_a_message_none_on_a_deleted_one_and_only_real_emoji(server: LiveServer) -> None:
    _, alice_token = await server.user("alice")
    _, bob_token = await server.user("bob")
    room = (await server.room(alice_token, "general"))["id"]
    await post(server, alice_token, room, "popular")  # 1
    for i in range(20):
        assert await react(server, alice_token, room, 1, f":e{i}:") == 204
    r = await server.http.put(f"/rooms/{room}/messages/1/reactions/%3Ae20%3A", headers=auth(bob_token))
    assert r.status_code == 409 and r.json() == {"detail": "too many reactions: a message holds at most 20 emoji"}
    assert await react(server, bob_token, room, 1, ":e3:") == 204  # one of the twenty: fine
    for bad in ("a b", "tab\t", "\u200b", "x" * 65, "é" * 33, "\x07"):
        assert await react(server, bob_token, room, 1, bad) == 422, repr(bad)
    assert await react(server, bob_token, room, 99, THUMBS) == 404
    assert await last_seq(server, bob_token, room) == 22

    assert (await delete(server, alice_token, room, 1)).status_code == 204  # 23
    (message,) = await server.history(bob_token, room)
    assert (message["reactions"], message["deleted"], message["updated_seq"]) == ([], True, 23)
    assert await react(server, bob_token, room, 1, THUMBS) == 409
    assert await react(server, bob_token, room, 1, ":e3:", add=False) == 204  # dropped with the message
    assert await last_seq(server, bob_token, room) == 23
    async with server.state.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(reactions)) == 0
