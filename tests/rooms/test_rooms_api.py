from __future__ import annotations

from service.main import State
from tests.conftest import Api
from tests.storing import store_message


async def test_create_room_makes_creator_owner_and_member(api: Api) -> None:
    alice = await api.user("alice")
    room = await api.room(alice, "General", description="talk")
    assert set(room) == {"id", "name", "description", "private", "owner_id", "created_at", "last_seq", "kind"}
    assert room["kind"] == "room"
    assert room["name"] == "General" and room["private"] is False and room["last_seq"] == 0
    me = (await api.client.get("/users/me", headers=alice)).json()
    assert room["owner_id"] == me["id"]
    members = (await api.client.get(f"/rooms/{room['id']}/members", headers=alice)).json()
    assert [m["username"] for m in members["items"]] == ["alice"]


async def test_room_names_are_unique_ignoring_case(api: Api) -> None:
    alice = await api.user("alice")
    await api.room(alice, "Straße")
    for name in ("STRASSE", "straße", "  Straße "):
        r = await api.client.post("/rooms", json={"name": name}, headers=alice)
        assert r.status_code == 409, name
        assert r.json() == {"detail": "room name already taken"}


async def test_room_validation(api: Api) -> None:
    alice = await api.user("alice")
    for body in (
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 65},
        {"name": "a", "description": "d" * 501},
        {"name": "a", "private": "maybe"},
        {"name": "a", "owner_id": 1},
        {},
    ):
        r = await api.client.post("/rooms", json=body, headers=alice)
        assert r.status_code == 422, body


async def test_list_shows_public_and_own_private_rooms_by_name_with_paging(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    await api.room(alice, "charlie")
    await api.room(alice, "Alpha")
    await api.room(alice, "secret", private=True)
    await api.room(bob, "bravo")
    await api.room(bob, "bob-only", private=True)

    r = await api.client.get("/rooms", headers=alice)
    assert r.status_code == 200
    assert [x["name"] for x in r.json()["items"]] == ["Alpha", "bravo", "charlie", "secret"]
    assert r.json()["total"] == 4

    page = (await api.client.get("/rooms?limit=2&offset=1", headers=bob)).json()
    assert [x["name"] for x in page["items"]] == ["bob-only", "bravo"]
    assert page["total"] == 4


async def test_private_room_is_404_for_outsiders_and_visible_to_members_and_admins(api: Api) -> None:
    alice, bob, root = await api.user("alice"), await api.user("bob"), await api.user("root", admin=True)
    room = await api.room(alice, "secret", private=True)
    rid = room["id"]
    for path in (f"/rooms/{rid}", f"/rooms/{rid}/members", f"/rooms/{rid}/messages"):
        r = await api.client.get(path, headers=bob)
        assert r.status_code == 404, path
        assert r.json() == {"detail": "room not found"}
    # Same answer as for a room that does not exist: no existence leak.
    assert (await api.client.get("/rooms/999999", headers=bob)).json() == {"detail": "room not found"}
    r = await api.client.patch(f"/rooms/{rid}", json={"name": "x"}, headers=bob)
    assert r.status_code == 404
    assert (await api.client.delete(f"/rooms/{rid}", headers=bob)).status_code == 404

    assert (await api.client.get(f"/rooms/{rid}", headers=root)).status_code == 200
    r = await api.client.post(f"/rooms/{rid}/members", json={"username": "bob"}, headers=alice)
    assert r.status_code == 201 and r.json()["username"] == "bob"
    assert (await api.client.get(f"/rooms/{rid}", headers=bob)).status_code == 200
    assert "secret" in [x["name"] for x in (await api.client.get("/rooms", headers=bob)).json()["items"]]


async def test_only_owner_or_admin_may_patch_or_delete(api: Api) -> None:
    alice, bob, root = await api.user("alice"), await api.user("bob"), await api.user("root", admin=True)
    room = await api.room(alice, "general")
    await api.room(alice, "taken")
    rid = room["id"]
    r = await api.client.patch(f"/rooms/{rid}", json={"name": "mine"}, headers=bob)
    assert r.status_code == 403
    assert (await api.client.delete(f"/rooms/{rid}", headers=bob)).status_code == 403

    r = await api.client.patch(f"/rooms/{rid}", json={"description": "new"}, headers=alice)
    assert r.status_code == 200 and r.json()["description"] == "new" and r.json()["name"] == "general"
    r = await api.client.patch(f"/rooms/{rid}", json={"name": "TAKEN"}, headers=alice)
    assert r.status_code == 409
    r = await api.client.patch(f"/rooms/{rid}", json={"name": None}, headers=alice)
    assert r.status_code == 422
    r = await api.client.patch(f"/rooms/{rid}", json={"name": "renamed"}, headers=root)
    assert r.status_code == 200 and r.json()["name"] == "renamed"
    # Renaming to another case of its own name is allowed.
    assert (await api.client.patch(f"/rooms/{rid}", json={"name": "Renamed"}, headers=alice)).status_code == 200


async def test_delete_room_removes_its_messages(api: Api, state: State) -> None:
    alice = await api.user("alice")
    room = await api.room(alice, "doomed")
    me = (await api.client.get("/users/me", headers=alice)).json()
    await store_message(state.engine, room["id"], me["id"], "hello")
    assert (await api.client.delete(f"/rooms/{room['id']}", headers=alice)).status_code == 204
    assert (await api.client.get(f"/rooms/{room['id']}", headers=alice)).status_code == 404
    # A new room with the same name starts from seq 0 with no history.
    again = await api.room(alice, "doomed")
    page = (await api.client.get(f"/rooms/{again['id']}/messages", headers=alice)).json()
    assert page == {"items": [], "has_more": False}
    from sqlalchemy import func, select

    from service.messages.models import Message

    async with state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_members_add_and_remove_permissions(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    room = await api.room(alice, "team", private=True)
    rid = room["id"]
    bob_id = (await api.client.get("/users/me", headers=bob)).json()["id"]
    alice_id = room["owner_id"]

    assert (
        await api.client.post(f"/rooms/{rid}/members", json={"username": "nobody"}, headers=alice)
    ).status_code == 404
    assert (await api.client.post(f"/rooms/{rid}/members", json={"username": "BOB"}, headers=alice)).status_code == 201
    r = await api.client.post(f"/rooms/{rid}/members", json={"username": "bob"}, headers=alice)
    assert r.status_code == 409
    # A member who is not the owner cannot add others.
    assert (await api.client.post(f"/rooms/{rid}/members", json={"username": "carol"}, headers=bob)).status_code == 403
    # An outsider of a private room does not learn it exists.
    assert (await api.client.delete(f"/rooms/{rid}/members/{bob_id}", headers=carol)).status_code == 404
    # Nobody but the owner or an admin removes someone else.
    assert (await api.client.delete(f"/rooms/{rid}/members/{alice_id}", headers=bob)).status_code == 403
    # The owner cannot be removed.
    assert (await api.client.delete(f"/rooms/{rid}/members/{alice_id}", headers=alice)).status_code == 403
    # A member may leave.
    assert (await api.client.delete(f"/rooms/{rid}/members/{bob_id}", headers=bob)).status_code == 204
    assert (await api.client.get(f"/rooms/{rid}", headers=bob)).status_code == 404
    assert (await api.client.delete(f"/rooms/{rid}/members/{bob_id}", headers=alice)).status_code == 404


async def test_public_room_members_listed_to_anyone(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    room = await api.room(alice, "lobby")
    r = await api.client.get(f"/rooms/{room['id']}/members", headers=bob)
    assert r.status_code == 200
    assert [u["username"] for u in r.json()["items"]] == ["alice"]
    assert set(r.json()["items"][0]) == {"id", "username", "is_admin", "created_at"}


async def test_private_must_be_a_json_boolean(api: Api) -> None:
    alice = await api.user("alice")
    for value in (0, 1, "yes", "true", "false", None):
        r = await api.client.post("/rooms", json={"name": "a", "private": value}, headers=alice)
        assert r.status_code == 422, value
    assert (await api.room(alice, "open", private=False))["private"] is False
    assert (await api.room(alice, "closed", private=True))["private"] is True


async def test_patch_refuses_null_and_keeps_what_is_left_out(api: Api) -> None:
    alice = await api.user("alice")
    room = await api.room(alice, "general", description="talk")
    for body in ({"name": None}, {"description": None}):
        r = await api.client.patch(f"/rooms/{room['id']}", json=body, headers=alice)
        assert r.status_code == 422, body
    r = await api.client.patch(f"/rooms/{room['id']}", json={"name": "lobby"}, headers=alice)
    assert r.status_code == 200 and (r.json()["name"], r.json()["description"]) == ("lobby", "talk")


async def test_nul_in_room_name_or_description_is_422_on_every_database(api: Api) -> None:
    alice = await api.user("alice")
    room = await api.room(alice, "general")
    for body in ({"name": "a\u0000b"}, {"name": "c", "description": "x\u0000"}):
        r = await api.client.post("/rooms", json=body, headers=alice)
        assert r.status_code == 422, body
        r = await api.client.patch(f"/rooms/{room['id']}", json=body, headers=alice)
        assert r.status_code == 422, body


async def test_a_64_character_name_is_kept_whatever_its_case_folds_to(api: Api) -> None:
    """Uniqueness is kept on the case-folded name, which can be longer: ß is ss."""
    alice = await api.user("alice")
    name = "ß" * 64
    room = await api.room(alice, name)
    assert room["name"] == name
    r = await api.client.post("/rooms", json={"name": "ẞ" * 64}, headers=alice)
    assert r.status_code == 409, r.text
    r = await api.client.patch(f"/rooms/{room['id']}", json={"name": "ﬃ" * 64}, headers=alice)
    assert r.status_code == 200, r.text


async def test_a_private_rooms_name_conflicts_with_nothing(api: Api) -> None:
    alice, mallory = await api.user("alice"), await api.user("mallory")
    hidden = await api.room(alice, "Board", private=True)
    # An outsider learns nothing: the name is free to them, in any case, new or by renaming.
    mine = await api.room(mallory, "BOARD")
    own = await api.room(mallory, "mine")
    r = await api.client.patch(f"/rooms/{own['id']}", json={"name": "board"}, headers=mallory)
    assert r.status_code == 409  # now a public room has the name
    r = await api.client.patch(f"/rooms/{mine['id']}", json={"name": "Board room"}, headers=mallory)
    assert r.status_code == 200
    r = await api.client.patch(f"/rooms/{own['id']}", json={"name": "board"}, headers=mallory)
    assert r.status_code == 200, r.text
    # Private rooms may share a name with each other too.
    assert (
        await api.client.post("/rooms", json={"name": "Board", "private": True}, headers=mallory)
    ).status_code == 201
    r = await api.client.get(f"/rooms/{hidden['id']}", headers=alice)
    assert r.json()["name"] == "Board"
