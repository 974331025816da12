"""GET /users/me/rooms in pages (`limit` ≤ 500, default 200; `before`, the
`next_before` of the page before), the most recently active first."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import update

from service.rooms.models import Room
from tests.realtime.conftest import LiveServer, auth
from tests.streams import post


async def _page(server: LiveServer, token: str, **params: object) -> dict:
    r = await server.http.get("/users/me/rooms", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    page: dict = r.json()
    assert set(page) == {"items", "has_more", "next_before"}
    return page


async def _paged(server: LiveServer, token: str, limit: int) -> list[list[int]]:
    """The room ids of each page, following next_before until has_more is false."""
    pages: list[list[int]] = []
    params: dict[str, object] = {"limit": limit}
    while True:
        page = await _page(server, token, **params)
        pages.append([item["room"]["id"] for item in page["items"]])
        assert len(page["items"]) <= limit
        if not page["has_more"]:
            assert page["next_before"] is None
            return pages
        assert len(page["items"]) == limit and isinstance(page["next_before"], str)
        params["before"] = page["next_before"]


async def test_pages_list_each_room_once_in_the_order_of_one_page(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    _, bob = await server.user("bob")
    rooms = [(await server.room(alice, f"room {i}"))["id"] for i in range(12)]
    await server.room(bob, "not alice's")
    # Six rooms created at the same instant: the order, and the cursor, break the tie by id.
    same = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    async with server.state.engine.begin() as conn:
        await conn.execute(update(Room).where(Room.id.in_(rooms[3:9])).values(created_at=same))
    await post(server, alice, rooms[10], "later")  # now: before the rooms of 2030
    whole = await _page(server, alice, limit=500)
    assert not whole["has_more"] and whole["next_before"] is None
    order = [item["room"]["id"] for item in whole["items"]]
    assert order == rooms[8:2:-1] + [rooms[10], rooms[11], rooms[9], *rooms[2::-1]]
    assert [item["room"]["id"] for item in (await _page(server, alice))["items"]] == order  # default limit

    for limit in (1, 5, 12, 13):
        pages = await _paged(server, alice, limit)
        assert [room for page in pages for room in page] == order, limit
        assert len(pages) == max(1, math.ceil(12 / limit)), limit


async def test_a_room_active_between_pages_moves_above_the_cursor_never_twice(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    rooms = [(await server.room(alice, f"room {i}"))["id"] for i in range(6)]
    first = await _page(server, alice, limit=3)
    assert [item["room"]["id"] for item in first["items"]] == rooms[:2:-1]
    await post(server, alice, rooms[0], "news")  # on the next page until now
    rest = await _page(server, alice, limit=3, before=first["next_before"])
    assert [item["room"]["id"] for item in rest["items"]] == [rooms[2], rooms[1]] and not rest["has_more"]
    assert (await _page(server, alice, limit=1))["items"][0]["room"]["id"] == rooms[0]


async def test_a_malformed_cursor_or_limit_is_refused(server: LiveServer) -> None:
    _, alice = await server.user("alice")
    await server.room(alice, "one")
    cursors = ["", "x", "1", "1_", "_1", "-1_2", "1_-2", "1.5_2", "1_2_3", " 1_2", "99999999999999999999_1"]
    cursors += ["1" * 100 + "_1", "\u0661_\u0661", "1_2\n"]
    for before in cursors:
        r = await server.http.get("/users/me/rooms", params={"before": before}, headers=auth(alice))
        assert r.status_code == 422, (before, r.text)
        [issue] = r.json()["detail"]
        assert issue["loc"] == ["query", "before"] and before not in issue["msg"].split(), (before, issue)
    for limit in (0, 501, "ten", 1.5):
        r = await server.http.get("/users/me/rooms", params={"limit": limit}, headers=auth(alice))
        assert r.status_code == 422, (limit, r.text)
    assert len((await _page(server, alice, limit=500))["items"]) == 1
    # A well-formed cursor below every room: an empty last page.
    assert await _page(server, alice, before="0_1") == {"items": [], "has_more": False, "next_before": None}
    # Any cursor of the documented form is answered, beyond either end too.
    assert await _page(server, alice, before="1_0") == {"items": [], "has_more": False, "next_before": None}
    for above_all in ("999999999999999999_1", "253402300800000000_9223372036854775808"):
        assert len((await _page(server, alice, before=above_all))["items"]) == 1
