"""A room's settings: its owner renames it, describes it, removes a member and deletes it
(after confirming); a member leaves it. Adding members from the user directory: test_rooms.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import ServiceProcess
from tests.web.conftest import ARTIFACTS, ChatPage, Rest, TwoInARoom, unique

pytestmark = pytest.mark.slow


def test_owner_renames_and_describes_the_room_and_others_see_it_live(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    taken = unique("taken")
    rest.call("POST", "/rooms", two.bob_token, 201, json={"name": taken})
    cyd_name = unique("cyd")
    rest.user(cyd_name)
    cyd = open_page(service.base)
    cyd.log_in(cyd_name)
    expect(cyd.public_room_button(two.name)).to_have_count(1)
    # Only the owner has settings.
    expect(bob.page.get_by_role("button", name="Settings")).to_be_hidden()

    # One pane beside the room at a time: settings take the pinned list's place, and back.
    ann.page.get_by_role("button", name="Pinned").click()
    expect(ann.page.locator("#pins-pane")).to_be_visible()
    ann.page.get_by_role("button", name="Settings").click()
    expect(ann.page.locator("#pins-pane")).to_be_hidden()
    ann.page.get_by_role("button", name="Pinned").click()
    expect(ann.page.locator("#settings-pane")).to_be_hidden()
    expect(ann.page.get_by_role("button", name="Settings")).to_have_attribute("aria-expanded", "false")
    ann.page.get_by_role("button", name="Settings").click()
    expect(ann.page.locator("#pins-pane")).to_be_hidden()
    name_field = ann.page.get_by_label("Room name")
    expect(name_field).to_have_value(two.name)
    expect(name_field).to_be_focused()
    # A name in use is refused with the server's reason; nothing changes.
    name_field.fill(taken)
    ann.page.get_by_role("button", name="Save").click()
    expect(ann.page.locator("#settings-error")).to_contain_text("taken")
    expect(ann.page.locator("#room-title")).to_have_text(two.name)

    renamed = unique("renamed")
    name_field.fill(renamed)
    ann.page.get_by_label("Room description").fill("where the team meets")
    ann.page.get_by_label("Room description").press("Enter")
    expect(ann.page.locator("#settings-status")).to_have_text("Saved.")
    expect(ann.page.locator("#room-title")).to_have_text(renamed)
    expect(ann.page.locator("#room-info")).to_contain_text("where the team meets")
    expect(ann.my_room_button(renamed)).to_have_count(1)
    ARTIFACTS.mkdir(exist_ok=True)
    ann.page.screenshot(path=ARTIFACTS / "room-settings.png")
    # Members are managed in the People panel, which the pane gives its place back to.
    ann.page.get_by_role("button", name="Show members").click()
    expect(ann.page.locator("#settings-pane")).to_be_hidden()
    expect(ann.page.get_by_label("Add a member")).to_be_focused()

    # The member sees it live (room_updated), in the sidebar and the open room, and so does
    # someone else in the public list, without asking again.
    expect(bob.my_room_button(renamed)).to_have_count(1)
    expect(bob.page.locator("#room-title")).to_have_text(renamed)
    expect(bob.page.locator("#room-info")).to_contain_text("where the team meets")
    expect(cyd.public_room_button(renamed)).to_have_count(1)
    expect(cyd.public_room_button(two.name)).to_have_count(0)


def test_owner_deletes_the_room_after_confirming_and_the_member_is_taken_out_of_it(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    ann.page.get_by_role("button", name="Settings").click()

    # The first press only asks; Cancel keeps the room.
    ann.page.get_by_role("button", name="Delete room…").click()
    expect(ann.page.locator("#settings-confirm")).to_contain_text(two.name)
    ann.page.get_by_role("button", name="Cancel").click()
    expect(ann.page.locator("#settings-confirm")).to_be_hidden()
    expect(ann.page.locator("#view-room")).to_be_visible()

    ann.page.get_by_role("button", name="Delete room…").click()
    ann.page.get_by_role("button", name="Delete it and its messages").click()
    expect(ann.page.locator("#view-home")).to_be_visible()
    expect(ann.page.locator("#rooms-notice")).to_have_text(f"You deleted {two.name}.")
    expect(ann.room_button(two.name)).to_have_count(0)

    # The member's open room closes with the server's reason.
    expect(bob.page.locator("#view-room")).to_be_hidden()
    expect(bob.page.locator("#rooms-notice")).to_contain_text("room deleted")
    expect(bob.room_button(two.name)).to_have_count(0)
    rest.call("GET", f"/rooms/{two.room_id}", two.ann_token, 404)


def test_member_leaves_the_room_and_once_back_is_removed_by_the_owner(
    service: ServiceProcess, rest: Rest, open_page: Callable[..., ChatPage]
) -> None:
    two = TwoInARoom(service, rest, open_page)
    ann, bob = two.ann, two.bob
    expect(ann.page.get_by_role("button", name="Leave room")).to_be_hidden()  # the owner deletes instead

    bob.page.get_by_role("button", name="Leave room").click()
    expect(bob.page.locator("#rooms-notice")).to_have_text(f"You left {two.name}.")
    expect(bob.my_room_button(two.name)).to_have_count(0)
    expect(bob.public_room_button(two.name)).to_have_count(1)  # public: still there to join
    members = rest.call("GET", f"/rooms/{two.room_id}/members", two.ann_token, 200)["items"]
    assert [m["username"] for m in members] == [two.ann_name]

    # Back in, then removed by the owner: the member's open room closes with the server's reason.
    bob.open_room(two.name)
    ann.page.get_by_role("button", name="Settings").click()
    ann.page.get_by_role("button", name="Show members").click()
    ann.page.get_by_role("button", name=f"Remove {two.bob_name}").click()
    expect(bob.page.locator("#view-room")).to_be_hidden()
    expect(bob.page.locator("#rooms-notice")).to_contain_text("removed from room")
    expect(bob.my_room_button(two.name)).to_have_count(0)
