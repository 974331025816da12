"""Reactions: added from a picker of common emoji, the user's own taken back by selecting
it, counts and who reacted (in the title) live for both users and after a reconnect."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, TwoInARoom

pytestmark = pytest.mark.slow


def test_reactions_are_added_toggled_and_shown_with_who_reacted_live_and_after_a_reconnect(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page, gated=True)
    ann, bob = two.ann, two.bob
    ann.send("lunch at noon?")
    expect(bob.messages).to_have_count(1)

    # Bob picks 👍 from the picker; the picker closes and the focus goes back to React.
    react = bob.message("lunch at noon?").get_by_role("button", name="React")
    react.click()
    picker = bob.page.locator("#reaction-picker")
    expect(picker).to_be_visible()
    expect(picker.get_by_role("button", name="React with 👍")).to_be_focused()
    picker.get_by_role("button", name="React with 👍").click()
    expect(picker).to_be_hidden()
    for chat in (ann, bob):
        expect(chat.message("lunch at noon?").locator("button.reaction")).to_have_text(["👍1"])
    thumbs = {chat: chat.message("lunch at noon?").locator("button.reaction") for chat in (ann, bob)}
    expect(thumbs[bob]).to_have_attribute("aria-pressed", "true")
    expect(thumbs[ann]).to_have_attribute("aria-pressed", "false")
    expect(thumbs[ann]).to_have_attribute("title", f"{two.bob_name} reacted with 👍")

    # Ann adds hers by selecting it; Bob takes his back the same way.
    thumbs[ann].click()
    expect(thumbs[bob]).to_have_text("👍2")
    expect(thumbs[bob]).to_have_attribute("title", f"you, {two.ann_name} reacted with 👍")
    expect(thumbs[ann]).to_have_attribute("aria-pressed", "true")
    thumbs[bob].click()
    for chat in (ann, bob):
        expect(thumbs[chat]).to_have_text("👍1")
    expect(thumbs[ann]).to_have_attribute("title", "you reacted with 👍")
    expect(thumbs[bob]).to_have_attribute("aria-pressed", "false")

    # While Bob is away, Ann adds 🎉 and takes 👍 back: he resumes with just 🎉, once.
    two.away()
    messages = f"/rooms/{two.room_id}/messages"
    seq = int(ann.message("lunch at noon?").get_attribute("data-seq") or 0)
    rest.call("PUT", f"{messages}/{seq}/reactions/{quote('🎉')}", two.ann_token, 204)
    rest.call("DELETE", f"{messages}/{seq}/reactions/{quote('👍')}", two.ann_token, 204)
    expect(ann.message("lunch at noon?").locator("button.reaction")).to_have_text(["🎉1"])
    two.back()
    expect(bob.message("lunch at noon?").locator("button.reaction")).to_have_text(["🎉1"])
    expect(bob.message("lunch at noon?").locator("button.reaction")).to_have_attribute(
        "title", f"{two.ann_name} reacted with 🎉"
    )
    # A reload shows the message as it is now.
    bob.page.reload()
    bob.wait_live()
    expect(bob.message("lunch at noon?").locator("button.reaction")).to_have_text(["🎉1"])
