"""Guarantee 10 end to end: a seeded random mix of sends, replies, edits, deletes,
reactions, pins and resends by three users in two rooms, watched by three clients
that build their views of both rooms only by `merge`, the rule of docs/protocol.md
("Converging exactly"):

- one /ws socket open from the start (user 0, who also sends on it);
- per-room sockets opened midway with a random `since` (or none), closed, and
  resumed from a random seq at or below the last read, so replays repeat what the
  client has (tests/convergence/clients.py, `Reconnecting`);
- REST pages with random cursors (history, threads, the events page, the pins),
  each merged later than it was read and in random order, beside a /ws socket it
  opens, closes and resumes (`Mixer`).

At the end each client holds exactly what the server serves fresh over REST, and the
server exactly what the test's model says (tests/convergence/model.py): bodies,
tombstones, reply counts, reactions with their users, pins, and `updated_seq`."""

from __future__ import annotations

import random
from collections import Counter
from copy import deepcopy

import pytest

from tests.convergence.clients import Mixer, Reconnecting
from tests.convergence.feeds import Feed, Frame, View
from tests.convergence.mix import Mix, expected
from tests.convergence.model import RoomModel, entry_of, projection
from tests.realtime.conftest import LiveServer, ServerFactory, auth
from tests.realtime.mux import Mux

STEPS = 200
# What each seed's mix must have done at least once (tests/convergence/model.py counts them).
CASES = {
    "reply",
    "a reply to a deleted root",
    "a reply to no root",
    "resend",
    "answered on a socket",
    "answered over REST",
    "edit",
    "edit of a reply",
    "delete of a reply",
    "delete of a root with replies",
    "delete of a pinned message",
    "delete of a message with reactions",
    "a delete that changes nothing",
    "reaction added",
    "reaction removed",
    "a reaction that changes nothing",
    "a reaction on a deleted message",
    "pin",
    "unpin",
    "a pin that changes nothing",
}
# What a message frame carries beyond the Message object.
FRAME_ONLY = {"type", "room", "root", "duplicate", "ref"}


def merge(view: View, item: Frame) -> None:
    """Take one message object or stream entry into a client's view of its room.

    A message (a REST item or a message frame, live, replayed or a duplicate's
    acknowledgement) replaces the one held when its `updated_seq` is at least as
    high. Any other entry, and a reply's (or a reply delete's) `root`, changes each
    message it concerns only when the entry's `seq` is above that message's
    `updated_seq`, which then becomes the entry's `seq`; values are set, never
    added, but a reaction's one user. An entry about a message not held waits for
    it: a page read before the entry may bring the message after it, older."""
    kind = item.get("type", "message")
    if kind == "message":
        held = view.messages.get(item["seq"])
        if held is None or item["updated_seq"] >= held["updated_seq"]:
            copy = {k: deepcopy(v) for k, v in item.items() if k not in FRAME_ONLY}
            view.messages[item["seq"]] = copy
            for entry in sorted(view.waiting.pop(item["seq"], []), key=lambda e: e["seq"]):
                _change(copy, entry)
    concerned = [] if kind == "message" else [item["target_seq"]]
    if "root" in item:
        concerned.append(item["root"]["seq"])
    for seq in concerned:
        if seq in view.messages:
            _change(view.messages[seq], item)
        else:
            view.waiting.setdefault(seq, []).append(item)


def _change(message: Frame, entry: Frame) -> None:
    if entry["seq"] <= message["updated_seq"]:
        return  # in the message's state already
    message["updated_seq"] = entry["seq"]
    root = entry.get("root")
    if root is not None and root["seq"] == message["seq"]:
        message["reply_count"], message["last_reply_at"] = root["reply_count"], root["last_reply_at"]
    elif entry["type"] == "edit":
        message.update({k: entry[k] for k in ("body", "edited_at", "mentions", "mentions_room")})
    elif entry["type"] == "delete":
        message.update(deleted=True, body=None, reactions=[], pinned=False, mentions=[], mentions_room=False, files=[])
    elif entry["type"] == "pin":
        message["pinned"] = entry["op"] == "add"
    elif entry["type"] == "reaction":
        reactions = message["reactions"]
        emoji = next((r for r in reactions if r["emoji"] == entry["emoji"]), None)
        if emoji is None:
            emoji = {"emoji": entry["emoji"], "count": 0, "user_ids": []}
            reactions.append(emoji)
        emoji["count"] = entry["count"]
        user = entry["user"]["id"]
        if entry["op"] == "add" and user not in emoji["user_ids"]:
            emoji["user_ids"].append(user)
        elif entry["op"] == "remove" and user in emoji["user_ids"]:
            emoji["user_ids"].remove(user)
        if not emoji["count"]:
            reactions.remove(emoji)


async def _events(server: LiveServer, token: str, room_id: int) -> list[Frame]:
    items: list[Frame] = []
    while True:
        after = items[-1]["seq"] if items else 0
        r = await server.http.get(
            f"/rooms/{room_id}/events", params={"after_seq": after, "limit": 500}, headers=auth(token)
        )
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        if not r.json()["has_more"]:
            return items


def _check_view(who: str, view: View, state: dict[int, Frame], floor: int) -> None:
    """The client holds every message above `floor` (and any other it was given: a page, a
    duplicate's acknowledgement), each exactly as the server has it."""
    must = {seq for seq in state if seq > floor}
    held = set(view.messages)
    assert must <= held, (who, "missing", sorted(must - held))
    assert held <= set(state), (who, "not messages", sorted(held - set(state)))
    for seq in sorted(held):
        assert view.messages[seq] == state[seq], (who, seq, view.messages[seq], state[seq])


async def _check_room(mix: Mix, room: RoomModel, state: dict[int, Frame]) -> None:
    """The server against the model: messages, the stream's entries, the pins."""
    assert {seq: projection(m) for seq, m in state.items()} == expected(room)
    stream = await _events(mix.server, mix.tokens[1], room.id)
    assert {f["seq"]: entry_of(f) for f in stream} == room.entries  # nothing stored for what changed nothing
    copies = {f["seq"]: {k: v for k, v in f.items() if k not in FRAME_ONLY} for f in stream if f["type"] == "message"}
    assert copies == state
    r = await mix.server.http.get(f"/rooms/{room.id}/pins", headers=auth(mix.tokens[2]))
    assert [m["seq"] for m in r.json()["items"]] == room.pins()


@pytest.mark.parametrize("seed", [4, 5, 2026])
async def test_every_client_ends_with_the_servers_state_whatever_order_it_read_in(
    make_server: ServerFactory, seed: int
) -> None:
    server = await make_server(history_on_connect=6)
    mix = Mix(server, random.Random(seed))  # the operations: the same for a seed, whatever the timing
    await mix.setup()
    rooms = [room.id for room in mix.rooms]
    live_views = {room_id: View() for room_id in rooms}
    live = await Feed.mux(server, mix.tokens[0], mix.users[0]["id"], dict.fromkeys(rooms, 0), live_views, merge)
    mix.sockets[0].update(dict.fromkeys(rooms, live))
    resuming = Reconnecting(
        server, mix.tokens[1], mix.users[1]["id"], mix.rooms, merge, mix.sockets[1], random.Random(seed + 1)
    )
    mixing = Mixer(server, mix.tokens[2], mix.users[2]["id"], mix.rooms, merge, mix.sockets[2], random.Random(seed + 2))

    for step in range(STEPS):
        await mix.operate()
        await resuming.step(step, STEPS)
        await mixing.step(step, STEPS)
    await resuming.finish()
    await mixing.finish()
    for room in mix.rooms:
        await live.caught_up(room.id, room.last)
    await live.close()
    assert isinstance(live.client, Mux) and resuming.reconnected

    cases = sum((room.cases for room in mix.rooms), Counter[str]())
    assert set(cases) >= CASES, sorted(CASES - set(cases))
    for room in mix.rooms:
        state = await mix.fresh(room)
        await _check_room(mix, room, state)
        _check_view("live", live_views[room.id], state, 0)
        _check_view("resuming", resuming.views[room.id], state, resuming.floor[room.id])
        _check_view("mixing", mixing.views[room.id], state, mixing.floor[room.id])
