"""Two people in one room: messages, typing, who is online."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ARTIFACTS, ChatPage

pytestmark = pytest.mark.slow


def test_two_users_see_each_others_messages_typing_and_presence(
    service: ServiceProcess, open_page: Callable[..., ChatPage]
) -> None:
    alice_name, bob_name, room = "alice", "bob", "lobby"
    alice, bob = open_page(service.base), open_page(service.base)
    alice.sign_up(alice_name)
    alice.create_room(room, "Where everyone says hello")
    expect(alice.page.locator("#room-title")).to_have_text(room)
    bob.sign_up(bob_name)
    bob.open_room(room)

    # Presence: Bob's welcome lists both; Alice hears Bob join.
    expect(bob.online).to_have_text(sorted([f"{alice_name}", f"{bob_name} (you)"]))
    expect(alice.online).to_have_text(sorted([f"{alice_name} (you)", f"{bob_name}"]))

    alice.send("Hi Bob, welcome to the lobby.")
    expect(bob.messages.locator(".body")).to_have_text(["Hi Bob, welcome to the lobby."])
    bob.send("Thanks! Glad to be here.")
    expect(alice.messages.locator(".body")).to_have_text(["Hi Bob, welcome to the lobby.", "Thanks! Glad to be here."])
    alice.send("Did the release go out?")
    expect(bob.messages).to_have_count(3)

    # Bob types without sending: Alice sees it, Bob does not see himself typing.
    bob.page.get_by_label("Message", exact=True).press_sequentially("Yes, this morning")
    expect(alice.page.locator("#typing")).to_have_text(f"{bob_name} is typing…")
    expect(bob.page.locator("#typing")).to_have_text("")
    ARTIFACTS.mkdir(exist_ok=True)
    alice.page.screenshot(path=ARTIFACTS / "two-users-alice.png")

    bob.page.get_by_label("Message", exact=True).press("Enter")
    expect(alice.messages.locator(".body").last).to_have_text("Yes, this morning")
    # A message from the typist ends the indicator at once.
    expect(alice.page.locator("#typing")).to_have_text("")
    for page in (alice, bob):
        assert page.seqs() == [1, 2, 3, 4]
        expect(page.page.locator("#pending li")).to_have_count(0)
    expect(alice.messages.last).not_to_have_class(re.compile(r"\bown\b"))
    expect(bob.messages.last).to_have_class(re.compile(r"\bown\b"))

    # Bob closes his tab: Alice sees him leave.
    bob.page.close()
    expect(alice.online).to_have_text([f"{alice_name} (you)"])
