"""The user directory (GET /users?prefix=): names offered while one is typed, to add a
member or to start a direct conversation; the other user sees the room appear live."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ChatPage, Rest, unique

pytestmark = pytest.mark.slow


def test_names_are_offered_while_typed_to_add_a_member_and_to_start_a_conversation(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    stem = unique("dir")
    owner_name, mia, max_ = f"{stem}_olga", f"{stem}_Mia", f"{stem}_max"
    owner_token = rest.user(owner_name)
    rest.user(mia)
    rest.user(max_)
    room = unique("team")
    rest.call("POST", "/rooms", owner_token, 201, json={"name": room, "private": True})
    owner, guest = open_page(service.base), open_page(service.base)
    owner.log_in(owner_name)
    guest.log_in(mia)
    owner.open_room(room)
    page = owner.page

    # Adding a member: every name starting with what is typed (case aside), by name.
    field = page.get_by_label("Add a member")
    expect(field).to_have_attribute("list", "member-suggestions")
    field.fill(f"{stem.upper()}_M")
    options = page.locator("#member-suggestions option")
    expect(options).to_have_count(2)
    assert options.evaluate_all("os => os.map(o => o.value)") == [max_, mia]
    field.fill(mia)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#members li")).to_have_count(2)
    expect(guest.my_room_button(room)).to_have_count(1)  # live, for the one added

    # Starting a conversation from the sidebar: the same offers, then the conversation opens.
    someone = page.get_by_label("Message someone")
    someone.fill(f"{stem}_ma")
    expect(page.locator("#dm-suggestions option")).to_have_count(1)
    expect(page.locator(f'#dm-suggestions option[value="{max_}"]')).to_have_count(1)
    someone.fill(max_)
    someone.press("Enter")
    owner.wait_live()
    expect(page.locator("#room-title")).to_have_text(max_)
    expect(someone).to_have_value("")
    # A name no one has is answered in words.
    someone.fill(f"{stem}_nobody")
    someone.press("Enter")
    expect(page.locator("#new-dm-error")).to_have_text(f"There is no user {stem}_nobody.")
