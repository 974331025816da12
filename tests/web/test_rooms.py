"""Many rooms on one socket: the sidebar, unread marks, switching, resuming, members, day breaks."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess, service_env
from tests.web.conftest import ChatPage, Rest, SocketGate, send_over_websocket, unique

pytestmark = pytest.mark.slow

RECONNECT_MS = 30_000


def _room_ids(rest: Rest, token: str, names: list[str]) -> list[int]:
    rooms = {r["name"]: r["id"] for r in rest.call("GET", "/rooms?limit=200", token, 200)["items"]}
    return [rooms[name] for name in names]


def test_messages_in_rooms_out_of_view_mark_them_and_switching_shows_each_once_in_seq_order(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    alice_name, bob_name = unique("alice"), unique("bob")
    names = [unique("north"), unique("south"), unique("west")]
    token = rest.user(alice_name)
    bob_token = rest.user(bob_name)
    for name in names:
        room = rest.call("POST", "/rooms", token, 201, json={"name": name})
        rest.call("POST", f"/rooms/{room['id']}/join", bob_token, 204)  # unread counts are for members
    alice, bob = open_page(service.base), open_page(service.base)
    alice.log_in(alice_name)
    bob.log_in(bob_name)
    north, south, west = names
    bob.open_room(north)

    # Alice writes in all three; Bob looks at north only.
    alice.open_room(north)
    alice.send("north 1")
    alice.open_room(south)
    alice.send("south 1")
    alice.send("south 2")
    alice.open_room(west)
    alice.send("west 1")
    expect(bob.messages.locator(".body")).to_have_text(["north 1"])
    expect(bob.room_button(south).locator(".unread")).to_have_text("2")
    expect(bob.room_button(west).locator(".unread")).to_have_text("1")
    expect(bob.room_button(north).locator(".unread")).to_have_count(0)
    expect(bob.room_button(north)).to_have_attribute("aria-current", "page")
    # Alice's own messages are no news to her.
    for name in names:
        expect(alice.room_button(name).locator(".unread")).to_have_count(0)

    # Looking at a room reads it; coming back to one shows its messages once, in order.
    bob.room_button(south).click()
    expect(bob.page.locator("#room-title")).to_have_text(south)
    expect(bob.messages.locator(".body")).to_have_text(["south 1", "south 2"])
    expect(bob.room_button(south).locator(".unread")).to_have_count(0)
    bob.send("south 3 from bob")
    expect(alice.room_button(south).locator(".unread")).to_have_text("1")
    bob.room_button(west).click()
    expect(bob.messages.locator(".body")).to_have_text(["west 1"])
    alice.send("west 2")
    expect(bob.messages.locator(".body")).to_have_text(["west 1", "west 2"])
    expect(bob.room_button(west).locator(".unread")).to_have_count(0)
    for name, bodies in [(north, ["north 1"]), (south, ["south 1", "south 2", "south 3 from bob"])]:
        bob.room_button(name).click()
        expect(bob.page.locator("#room-title")).to_have_text(name)
        expect(bob.messages.locator(".body")).to_have_text(bodies)
        assert bob.seqs() == list(range(1, len(bodies) + 1))

    # All of it on one socket, subscribed once to each room.
    assert len(bob.socket_urls) == 1 and bob.socket_urls[0].endswith("/ws")
    subscribed = [r["room"] for r in bob.subscribes()[0]]
    ids = _room_ids(rest, token, names)
    assert all(subscribed.count(room_id) == 1 for room_id in ids), subscribed


def test_server_restart_resumes_every_room_from_its_own_cursor(
    tmp_path: Path, open_page: Callable[..., ChatPage]
) -> None:
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    names = [unique("one"), unique("two"), unique("three")]
    with ServiceProcess(env, tmp_path) as first:
        rest = Rest(first.base)
        alice_name = unique("alice")
        token = rest.user(alice_name)
        carol = rest.user(unique("carol"))
        for name in names:
            rest.call("POST", "/rooms", token, 201, json={"name": name})
        ids = _room_ids(rest, token, names)
        rest.close()
        # Room k holds k messages before the restart: three different cursors.
        for k, room_id in enumerate(ids, start=1):
            send_over_websocket(first.base, carol, room_id, [f"before {k}.{n}" for n in range(1, k + 1)])
        bob = open_page(first.base)
        gate = SocketGate(bob.page)
        bob.sign_up(unique("bob"))
        bob.open_room(names[0])
        expect(bob.messages).to_have_count(1)
        for name, count in zip(names[1:], (2, 3), strict=True):
            bob.open_room(name)  # joined: its unread count is kept
            expect(bob.messages).to_have_count(count)
        bob.room_button(names[0]).click()
        gate.hold = True  # the reconnect waits until the second server holds what Bob missed
        first.stop()

    expect(bob.connection).to_contain_text("reconnecting")
    bob.send("sent while offline")
    expect(bob.page.locator("#pending li .state")).to_have_text(["sending…"])

    with ServiceProcess(env, tmp_path, port=first.port) as second:
        for k, room_id in enumerate(ids, start=1):
            send_over_websocket(second.base, carol, room_id, [f"missed {k}"])
        gate.wait_for_connections(2)
        gate.release()
        bob.wait_live(RECONNECT_MS)
        expect(bob.page.locator("#pending li")).to_have_count(0)
        expected = {
            names[0]: ["before 1.1", "missed 1", "sent while offline"],
            names[1]: ["before 2.1", "before 2.2", "missed 2"],
            names[2]: ["before 3.1", "before 3.2", "before 3.3", "missed 3"],
        }
        expect(bob.room_button(names[1]).locator(".unread")).to_have_text("1")
        expect(bob.room_button(names[2]).locator(".unread")).to_have_text("1")
        for name, bodies in expected.items():
            bob.room_button(name).click()
            expect(bob.page.locator("#room-title")).to_have_text(name)
            expect(bob.messages.locator(".body")).to_have_text(bodies)
            assert bob.seqs() == list(range(1, len(bodies) + 1))

    # One subscribe after the reconnect, every room from its own cursor.
    resumed = {r["room"]: r["since"] for r in gate.subscribes()[-1]}
    assert {room_id: resumed[room_id] for room_id in ids} == dict(zip(ids, (1, 2, 3), strict=True))


def test_owner_adds_a_member_to_a_private_room_who_sees_it_appear_and_chats(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    owner_name, member_name, room = unique("olga"), unique("max"), unique("secret")
    rest.user(member_name)
    owner, member = open_page(service.base), open_page(service.base)
    owner.sign_up(owner_name)
    owner.create_room(room, "owners only, for now", private=True)
    member.log_in(member_name)
    expect(member.room_button(room)).to_have_count(0)

    members = owner.page.locator("#members li .member-name")
    expect(members).to_have_text([owner_name])
    owner.page.get_by_label("Add a member").fill("nobody_" + unique("x"))
    owner.page.get_by_role("button", name="Add", exact=True).click()
    expect(owner.page.locator("#add-member-error")).to_contain_text("There is no user")
    owner.page.get_by_label("Add a member").fill(member_name)
    owner.page.get_by_role("button", name="Add", exact=True).click()
    expect(members).to_have_text(sorted([owner_name, member_name]))

    # room_added: the room shows up in the member's sidebar with no refresh, and works.
    expect(member.room_button(room)).to_have_count(1)
    expect(member.room_button(room).locator(".badge")).to_have_text("private")
    owner.send("welcome aboard")
    expect(member.room_button(room).locator(".unread")).to_have_text("1")
    member.room_button(room).click()
    member.wait_live()
    expect(member.messages.locator(".body")).to_have_text(["welcome aboard"])
    expect(member.page.locator("#add-member")).to_be_hidden()  # only owners manage members
    member.send("thanks!")
    expect(owner.messages.locator(".body")).to_have_text(["welcome aboard", "thanks!"])
    expect(owner.online).to_have_text(sorted([f"{owner_name} (you)", member_name]))

    # Removed: the member is told why and the room leaves the sidebar; the socket stays.
    owner.page.get_by_role("button", name=f"Remove {member_name}").click()
    expect(members).to_have_text([owner_name])
    expect(member.page.locator("#view-room")).to_be_hidden()
    expect(member.page.locator("#rooms-notice")).to_contain_text("removed from room")
    expect(member.room_button(room)).to_have_count(0)
    assert len(member.socket_urls) == 1


def test_day_separators_and_runs_of_one_author_grouped(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    ann, ben = unique("ann"), unique("ben")
    ann_token, ben_token = rest.user(ann), rest.user(ben)
    [room_id] = [rest.call("POST", "/rooms", ann_token, 201, json={"name": unique("days")})["id"]]
    room = rest.call("GET", f"/rooms/{room_id}", ann_token, 200)["name"]
    send_over_websocket(service.base, ann_token, room_id, ["old 1", "old 2"])
    send_over_websocket(service.base, ben_token, room_id, ["old 3"])
    send_over_websocket(service.base, ann_token, room_id, ["new 4", "new 5"])
    # No socket left in the room: its feed, which keeps the frames it sent, is closed,
    # and the room's stream is read afresh from the database.
    deadline = time.monotonic() + 10
    while rest.call("GET", f"/rooms/{room_id}/presence", ann_token, 200)["items"]:
        assert time.monotonic() < deadline, "the senders' sockets stayed in the room"
        time.sleep(0.05)
    # The first three were written three days ago (the server stamps messages itself).
    database = service.env["CHAT_DATABASE_URL"].split("///", 1)[1]
    with sqlite3.connect(database) as db:
        written = db.execute("SELECT id, created_at FROM messages WHERE room_id = ? AND seq <= 3", (room_id,))
        for message_id, created_at in written.fetchall():
            earlier = datetime.fromisoformat(created_at) - timedelta(days=3)
            db.execute("UPDATE messages SET created_at = ? WHERE id = ?", (earlier.isoformat(sep=" "), message_id))

    chat = open_page(service.base)
    chat.log_in(ann)
    chat.open_room(room)
    expect(chat.messages).to_have_count(5)
    items = chat.page.locator("#messages > li")
    kinds = items.evaluate_all(
        "items => items.map(i => i.classList.contains('day-separator') ? 'day'"
        " : i.querySelector('.body').textContent + (i.classList.contains('grouped') ? '+' : ''))"
    )
    # A separator starts each day; a second message of one author within minutes joins the first.
    assert kinds == ["day", "old 1", "old 2+", "old 3", "day", "new 4", "new 5+"]
    expect(chat.page.locator("#messages .day-separator").last).to_have_text(re.compile(r"^Today · .*\d"))
    expect(chat.page.locator("#messages .day-separator").first).not_to_have_text(re.compile("Today|Yesterday"))
