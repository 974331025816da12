"""Live lists across instances: a public room made and renamed, and a room's members
joining and leaving, through one instance, told to /ws sockets on the other."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ServiceProcess
from tests.realtime.mux import Mux, mux_url
from tests.scale.conftest import TIMEOUT, Session, login, unique

pytestmark = pytest.mark.slow


def bearer(session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {session.token}"}


async def test_room_created_updated_and_members_reach_mux_sockets_on_the_other_instance(
    shared_two: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = shared_two
    alice, bob = await login(b.base, "alice"), await login(b.base, "bob")
    alice_mux = await Mux.open(mux_url(a.base, alice.token))
    await alice_mux.hello()
    async with httpx.AsyncClient(base_url=f"{b.base}/api/v1", timeout=TIMEOUT) as http:
        r = await http.post("/rooms", json={"name": unique("bobs")}, headers=bearer(bob))
        assert r.status_code == 201, r.text
        bobs = r.json()
        assert (await alice_mux.next_type("room_created"))["room"] == bobs
        await alice_mux.subscribed([bobs["id"]])
        r = await http.patch(f"/rooms/{bobs['id']}", json={"name": unique("bobs place")}, headers=bearer(bob))
        assert r.status_code == 200, r.text
        assert (await alice_mux.next_type("room_updated"))["room"] == r.json()

        # Alice reads the public room without joining it; Carol joins and leaves it.
        carol = await login(b.base, "carol")
        carol_id = (await http.get("/users/me", headers=bearer(carol))).json()["id"]
        assert (await http.post(f"/rooms/{bobs['id']}/join", headers=bearer(carol))).status_code == 204
        added = await alice_mux.next_type("member_added", bobs["id"])
        assert (added["user"]["id"], added["user"]["username"]) == (carol_id, carol.username)
        r = await http.delete(f"/rooms/{bobs['id']}/members/{carol_id}", headers=bearer(carol))
        assert r.status_code == 204
        assert (await alice_mux.next_type("member_removed", bobs["id"]))["user_id"] == carol_id
    await alice_mux.close()
