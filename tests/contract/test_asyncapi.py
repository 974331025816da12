"""docs/asyncapi.yaml: valid for the AsyncAPI project's own parser, and true of real frames."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
import yaml
from websockets.asyncio.client import connect

from tests.realtime.conftest import Client, LiveServer, ServerFactory, auth

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
HERE = Path(__file__).parent
SPEC = yaml.safe_load(DOCUMENT.read_text())
OPERATIONS = SPEC["operations"]


def _messages(operation: str) -> dict[str, str]:
    """The `type` of each message an operation carries, to its component name."""
    channel = SPEC["channels"][OPERATIONS[operation]["channel"]["$ref"].rsplit("/", 1)[1]]
    keys = [ref["$ref"].rsplit("/", 1)[1] for ref in OPERATIONS[operation]["messages"]]
    names = [channel["messages"][key]["$ref"].rsplit("/", 1)[1] for key in keys]
    components = SPEC["components"]["messages"]
    return {components[name]["payload"]["properties"]["type"]["const"]: name for name in names}


SERVER_FRAMES = _messages("receiveRoomStream")
CLIENT_FRAMES = _messages("sendToRoom")
MUX_SERVER_FRAMES = _messages("receiveMultiplexed")
MUX_CLIENT_FRAMES = _messages("sendMultiplexed")
# The frames of a room's stream, each with its own seq.
STREAM_FRAMES = {"message", "edit", "delete", "reaction", "pin"}
THUMBS_UP = quote("👍", safe="")  # an emoji in a URL: percent-encoded UTF-8


def _require(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI requires it")
    pytest.skip(reason)


def test_the_asyncapi_parser_finds_no_error_or_warning() -> None:
    node = shutil.which("node")
    if node is None:
        _require("Node.js is not installed")
    if not (HERE / "node_modules" / "@asyncapi" / "parser").is_dir():
        _require("@asyncapi/parser is not installed (npm install --prefix tests/contract, as .ci/run does)")
    done = subprocess.run(
        [node, "validate_asyncapi.mjs", str(DOCUMENT)], cwd=HERE, capture_output=True, text=True, timeout=120
    )
    diagnostics = json.loads(done.stdout or "[]")
    # Severity 0 is an error, 1 a warning; 2 and 3 are hints (such as "3.1.0 exists").
    serious = [d for d in diagnostics if d["severity"] <= 1]
    assert done.returncode == 0 and not serious, (serious, done.stderr)


def _validate(component: str, frame: dict[str, Any]) -> None:
    schema = {**SPEC, "$ref": f"#/components/messages/{component}/payload"}
    jsonschema.Draft7Validator(schema).validate(frame)


class Recorder:
    """A client whose every frame, both ways, is checked against the document."""

    def __init__(self, client: Client, *, multiplexed: bool = False) -> None:
        self.client = client
        self.seen: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.server_frames = MUX_SERVER_FRAMES if multiplexed else SERVER_FRAMES
        self.client_frames = MUX_CLIENT_FRAMES if multiplexed else CLIENT_FRAMES

    async def send(self, frame: dict[str, Any]) -> None:
        _validate(self.client_frames[frame["type"]], frame)
        self.sent.append(frame)
        await self.client.send(frame)

    async def recv(self, kind: str | None = None) -> dict[str, Any]:
        while True:
            frame = await self.client.recv()
            assert frame["type"] in self.server_frames, frame
            _validate(self.server_frames[frame["type"]], frame)
            self.seen.append(frame)
            if kind is None or frame["type"] == kind:
                return frame

    def replayed(self) -> list[dict[str, Any]]:
        """The stream frames (message, edit, delete, reaction, pin) before the first `synced`."""
        end = next(i for i, f in enumerate(self.seen) if f["type"] == "synced")
        return [f for f in self.seen[:end] if f["type"] in STREAM_FRAMES]


def _assert_current_state(replay: list[dict[str, Any]], edited: int, deleted: int, *also_deleted: int) -> None:
    """A replay after `edited` was edited and `deleted` edited then deleted (and the
    messages `also_deleted` deleted): messages in their current state, each as of its
    `updated_seq`, the deleted one's text gone from its edit too, then the deletes."""
    by_seq = {f["seq"]: f for f in replay}
    assert by_seq[edited]["type"] == "message" and by_seq[edited]["edited_at"] is not None
    for gone in (deleted, *also_deleted):
        assert by_seq[gone]["type"] == "message" and by_seq[gone]["deleted"] is True
        assert by_seq[gone]["body"] is None
    edits = [f for f in replay if f["type"] == "edit"]
    assert {f["target_seq"] for f in edits} == {edited, deleted}
    assert all((f["body"] is None) == (f["target_seq"] == deleted) for f in edits)
    assert sorted(f["target_seq"] for f in replay if f["type"] == "delete") == sorted((deleted, *also_deleted))
    assert [f["seq"] for f in replay] == sorted(by_seq)
    # Each message's updated_seq is the last entry of the replay that changed it.
    changed: dict[int, int] = {}
    for f in replay:
        for seq in (f.get("target_seq"), f.get("root", {}).get("seq")):
            if seq is not None:
                changed[seq] = f["seq"]
    for f in replay:
        if f["type"] == "message":
            assert f["updated_seq"] == changed.get(f["seq"], f["seq"]), f


@pytest.mark.parametrize("subprotocol", ["chat.v1.json", "chat.v1.msgpack"])
async def test_every_server_frame_matches_the_document(
    make_server: ServerFactory, subprotocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server: LiveServer = await make_server(rate_per_second=0.5, rate_burst=5, max_message_chars=10)
    alice_user, alice_token = await server.user("alice")
    _, bob_token = await server.user("bob")
    room = await server.room(alice_token, "contract")

    async def connect(token: str, since: int | None = None) -> Recorder:
        client = await server.connect(room["id"], token, since, ephemeral=True, subprotocols=[subprotocol])
        return Recorder(client)

    alice = await connect(alice_token)
    await alice.recv("welcome")
    await alice.recv("synced")
    bob = await connect(bob_token)
    await bob.recv("synced")
    assert (await alice.recv("presence"))["event"] == "join"
    await bob.send({"type": "typing"})
    await alice.recv("typing")

    await alice.send({"type": "message", "body": "hello", "client_msg_id": "c1"})
    await alice.recv("message")
    await alice.send({"type": "message", "body": "hello", "client_msg_id": "c1"})
    assert (await alice.recv("message"))["duplicate"] is True
    await alice.send({"type": "ping"})
    await alice.recv("pong")

    # Edits, deletes, reactions and pins are made over REST while the sockets are open;
    # each is an event of the stream. A reply is a message with its root's counts.
    await bob.send({"type": "message", "body": "hey", "client_msg_id": "b1"})
    hey = await alice.recv("message")
    await bob.send({"type": "message", "body": "re", "client_msg_id": "b2", "thread_seq": hey["seq"]})
    reply = await alice.recv("message")
    assert reply["thread_seq"] == hey["seq"]
    assert reply["root"] == {"seq": hey["seq"], "reply_count": 1, "last_reply_at": reply["created_at"]}
    # A reply to a reply is refused: a reply is never a root.
    await bob.send({"type": "message", "body": "re re", "client_msg_id": "b3", "thread_seq": reply["seq"]})
    assert (await bob.recv("error"))["code"] == "invalid_thread"
    # A message may carry files, uploaded first; its body may then be empty. A file
    # that is not the sender's own unattached upload is refused.
    r = await server.http.post("/files", files={"file": ("a.txt", b"words")}, headers=auth(alice_token))
    assert r.status_code == 201, r.text
    await alice.send({"type": "message", "body": "", "client_msg_id": "f1", "files": [r.json()["id"]]})
    assert (await alice.recv("message"))["files"] == [r.json()]
    await alice.send({"type": "message", "body": "again", "client_msg_id": "f2", "files": [r.json()["id"]]})
    assert (await alice.recv("error"))["code"] == "invalid_files"
    messages_url = f"/rooms/{room['id']}/messages"
    r = await server.http.patch(f"{messages_url}/{hey['seq']}", json={"body": "hey @alice"}, headers=auth(bob_token))
    assert r.status_code == 200 and r.json()["edited_at"] is not None, r.text
    edit = await alice.recv("edit")
    assert (edit["target_seq"], edit["body"], edit["edited_at"]) == (hey["seq"], "hey @alice", r.json()["edited_at"])
    assert (edit["mentions"], edit["mentions_room"]) == ([alice_user["id"]], False)
    reaction_url = f"{messages_url}/{hey['seq']}/reactions/{THUMBS_UP}"
    assert (await server.http.put(reaction_url, headers=auth(alice_token))).status_code == 204
    added = await alice.recv("reaction")
    assert (added["target_seq"], added["emoji"], added["op"], added["count"]) == (hey["seq"], "👍", "add", 1)
    assert (await server.http.delete(reaction_url, headers=auth(alice_token))).status_code == 204
    removed = await alice.recv("reaction")
    assert (removed["op"], removed["count"]) == ("remove", 0)
    hello = next(f for f in alice.seen if f["type"] == "message" and f["client_msg_id"] == "c1")
    pin_url = f"/rooms/{room['id']}/pins/{hello['seq']}"
    for method, op in (("PUT", "add"), ("DELETE", "remove"), ("PUT", "add")):
        assert (await server.http.request(method, pin_url, headers=auth(alice_token))).status_code == 204
        pin = await alice.recv("pin")
        assert (pin["target_seq"], pin["op"]) == (hello["seq"], op)
    r = await server.http.patch(f"{messages_url}/{hello['seq']}", json={"body": "hello!"}, headers=auth(alice_token))
    assert r.status_code == 200, r.text
    assert (await alice.recv("edit"))["target_seq"] == hello["seq"]
    # Deleting the pinned message unpins it; deleting the reply sets its root's counts.
    assert (await server.http.delete(f"{messages_url}/{hello['seq']}", headers=auth(alice_token))).status_code == 204
    delete = await alice.recv("delete")
    assert (delete["target_seq"], delete["user"]["username"], delete["unpinned"]) == (hello["seq"], "alice", True)
    assert "root" not in delete
    assert (await server.http.delete(f"{messages_url}/{reply['seq']}", headers=auth(bob_token))).status_code == 204
    delete = await alice.recv("delete")
    assert (delete["target_seq"], delete["unpinned"]) == (reply["seq"], False)
    assert delete["root"] == {"seq": hey["seq"], "reply_count": 0, "last_reply_at": None}
    # A read is not answered, nor a thread's: the pong right after them is the next frame.
    await alice.send({"type": "read", "seq": delete["seq"]})
    await alice.send({"type": "read", "seq": delete["seq"], "thread": hey["seq"]})
    await alice.send({"type": "ping"})
    assert (await alice.recv())["type"] == "pong"
    mine = (await server.http.get("/users/me/rooms", headers=auth(alice_token))).json()["items"]
    assert [(m["room"]["id"], m["last_read_seq"]) for m in mine] == [(room["id"], delete["seq"])]

    await alice.client.ws.send(b"\x00" if subprotocol.endswith("json") else "{}")
    bad: list[dict[str, Any]] = [
        {"type": "shout"},
        {"type": "message", "body": " "},
        {"type": "message", "body": "far too long"},
        {"type": "read", "seq": -1},
    ]
    for frame in bad:
        await alice.client.send(frame)
    if subprotocol.endswith("json"):
        await alice.client.ws.send("{not json")

    def broken(*args: object, **kwargs: object) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(OSError("disk on fire"))
        return future

    monkeypatch.setattr(server.state.writer, "submit", broken)
    await alice.send({"type": "message", "body": "lost", "client_msg_id": "u1"})  # the burst's last token
    while not any(f.get("code") == "unavailable" for f in alice.seen):
        await alice.recv("error")
    monkeypatch.undo()
    for i in range(3):
        await alice.send({"type": "message", "body": f"m{i}", "client_msg_id": f"r{i}"})
    codes = {"unsupported_frame", "invalid_frame", "empty_body", "body_too_long", "rate_limited"}
    if subprotocol.endswith("json"):
        codes.add("invalid_json")
    while codes - {f["code"] for f in alice.seen if f["type"] == "error"}:
        await alice.recv("error")

    await bob.client.close()
    assert (await alice.recv("presence"))["event"] == "leave"
    # Members joining and leaving are told to the room's sockets.
    carol_user, carol_token = await server.user("carol")
    assert (await server.http.post(f"/rooms/{room['id']}/join", headers=auth(carol_token))).status_code == 204
    assert (await alice.recv("member_added"))["user"]["id"] == carol_user["id"]
    r = await server.http.delete(f"/rooms/{room['id']}/members/{carol_user['id']}", headers=auth(carol_token))
    assert r.status_code == 204
    assert (await alice.recv("member_removed"))["user_id"] == carol_user["id"]
    again = await connect(alice_token, since=0)
    synced = await again.recv("synced")

    seen = {f["type"] for f in alice.seen + again.seen}
    assert seen == set(SERVER_FRAMES), f"frames the document lists but the test never saw: {set(SERVER_FRAMES) - seen}"
    sent = {f["type"] for f in alice.sent + bob.sent}
    assert sent == set(CLIENT_FRAMES), (
        f"client frames the document lists but the test never sent: {set(CLIENT_FRAMES) - sent}"
    )
    documented_codes = SPEC["components"]["messages"]["error"]["payload"]["properties"]["code"]["enum"]
    seen_codes = {f["code"] for f in alice.seen + bob.seen if f["type"] == "error"}
    expected = set(documented_codes) - ({"invalid_json"} if subprotocol.endswith("msgpack") else set())
    assert seen_codes == expected
    # Replayed frames are validated too, in their current state.
    replay = again.replayed()
    _assert_current_state(replay, hey["seq"], hello["seq"], reply["seq"])
    # The events page holds exactly the frames the socket replayed, under the same schemas.
    r = await server.http.get(f"/rooms/{room['id']}/events", params={"after_seq": 0}, headers=auth(alice_token))
    assert r.status_code == 200, r.text
    events = [e for e in r.json()["items"] if e["seq"] <= synced["last_seq"]]
    for event in events:
        _validate(SERVER_FRAMES[event["type"]], event)
    assert events == replay


@pytest.mark.parametrize("subprotocol", ["chat.v1.json", "chat.v1.msgpack"])
async def test_every_multiplexed_frame_matches_the_document(make_server: ServerFactory, subprotocol: str) -> None:
    server: LiveServer = await make_server(max_rooms_per_socket=3)
    _, alice_token = await server.user("alice")
    _, bob_token = await server.user("bob")
    ours = await server.room(alice_token, "ours")
    theirs = await server.room(bob_token, "theirs", private=True)
    doomed = await server.room(bob_token, "doomed")
    url = f"ws://127.0.0.1:{server.port}/ws?token={alice_token}"
    alice = Recorder(Client(await connect(url, subprotocols=[subprotocol]), ephemeral=True), multiplexed=True)
    await alice.recv("hello")
    r = await server.http.post(f"/rooms/{theirs['id']}/members", json={"username": "alice"}, headers=auth(bob_token))
    assert r.status_code == 201
    assert (await alice.recv("room_added"))["room"]["id"] == theirs["id"]
    # A direct conversation is announced the same way, with its kind.
    r = await server.http.post("/dms", json={"username": "alice"}, headers=auth(bob_token))
    assert r.status_code == 201
    assert (await alice.recv("room_added"))["room"]["kind"] == "direct"
    rooms = [{"room": ours["id"], "since": None}, {"room": theirs["id"], "since": 0}, {"room": 10**9, "since": None}]
    await alice.send({"type": "subscribe", "rooms": rooms, "ref": "s1"})
    for _ in range(2):
        await alice.recv("synced")
    assert (await alice.recv("error"))["code"] == "room_not_found"
    await alice.send({"type": "subscribe", "rooms": [{"room": doomed["id"]}, {"room": ours["id"]}]})
    await alice.recv("synced")
    assert (await alice.recv("error"))["code"] == "already_subscribed"
    extra = await server.room(bob_token, "extra")
    assert (await alice.recv("room_created"))["room"] == extra
    r = await server.http.patch(f"/rooms/{extra['id']}", json={"description": "more"}, headers=auth(bob_token))
    assert r.status_code == 200, r.text
    assert (await alice.recv("room_updated"))["room"] == r.json()
    await alice.send({"type": "subscribe", "rooms": [{"room": extra["id"], "since": None}]})
    assert (await alice.recv("error"))["code"] == "too_many_rooms"

    bob = await server.connect(ours["id"], bob_token, ephemeral=True)
    await bob.handshake()
    await alice.recv("presence")
    await bob.send({"type": "typing"})
    await alice.recv("typing")
    await alice.send({"type": "message", "room": ours["id"], "body": "hi", "client_msg_id": "m1", "ref": "r"})
    await alice.recv("message")
    await alice.send({"type": "message", "room": ours["id"], "body": "hi", "client_msg_id": "m1"})
    hi = await alice.recv("message")
    assert hi["duplicate"] is True
    # Edits and deletes over REST while the socket is open, each an event of the room's stream.
    messages = f"/rooms/{ours['id']}/messages"
    await alice.send({"type": "message", "room": ours["id"], "body": "typo", "client_msg_id": "m2"})
    typo = await alice.recv("message")
    r = await server.http.patch(f"{messages}/{typo['seq']}", json={"body": "fixed"}, headers=auth(alice_token))
    assert r.status_code == 200, r.text
    assert (await alice.recv("edit"))["room"] == ours["id"]
    # Alice replies on the socket, Bob over REST; then a reaction and a pin, each an entry of the stream.
    await alice.send(
        {"type": "message", "room": ours["id"], "body": "re", "client_msg_id": "m3", "thread_seq": typo["seq"]}
    )
    assert (await alice.recv("message"))["root"]["reply_count"] == 1
    r = await server.http.post(messages, json={"body": "re", "thread_seq": typo["seq"]}, headers=auth(bob_token))
    assert r.status_code == 201, r.text
    bobs_reply = await alice.recv("message")
    assert (bobs_reply["seq"], bobs_reply["root"]["reply_count"]) == (r.json()["seq"], 2)
    r = await server.http.put(f"{messages}/{typo['seq']}/reactions/{THUMBS_UP}", headers=auth(bob_token))
    assert r.status_code == 204, r.text
    assert (await alice.recv("reaction"))["room"] == ours["id"]
    r = await server.http.put(f"/rooms/{ours['id']}/pins/{typo['seq']}", headers=auth(alice_token))
    assert r.status_code == 204, r.text
    assert (await alice.recv("pin"))["room"] == ours["id"]
    r = await server.http.patch(f"{messages}/{hi['seq']}", json={"body": "hi there"}, headers=auth(alice_token))
    assert r.status_code == 200, r.text
    assert (await alice.recv("edit"))["target_seq"] == hi["seq"]
    assert (await server.http.delete(f"{messages}/{hi['seq']}", headers=auth(alice_token))).status_code == 204
    delete = await alice.recv("delete")
    assert (delete["room"], delete["target_seq"]) == (ours["id"], hi["seq"])
    # Alice's second /ws socket replays the room in its current state and reads it: the first socket is told.
    second = Recorder(Client(await connect(url, subprotocols=[subprotocol]), ephemeral=True), multiplexed=True)
    await second.recv("hello")
    await second.send({"type": "subscribe", "rooms": [{"room": ours["id"], "since": 0}]})
    synced = await second.recv("synced")
    _assert_current_state(second.replayed(), edited=typo["seq"], deleted=hi["seq"])
    await second.send({"type": "read", "room": ours["id"], "seq": synced["last_seq"], "ref": "rd"})
    assert await alice.recv("read") == {"type": "read", "room": ours["id"], "seq": synced["last_seq"]}
    # Alice follows the thread of her message: reading Bob's reply there moves her marker in it.
    await second.send({"type": "read", "room": ours["id"], "seq": bobs_reply["seq"], "thread": typo["seq"]})
    assert await alice.recv("read") == {
        "type": "read",
        "room": ours["id"],
        "seq": bobs_reply["seq"],
        "thread": typo["seq"],
    }
    await second.send({"type": "ping", "ref": "after-read"})
    assert (await second.recv())["ref"] == "after-read"  # the read has no answer, nor an echo to its socket
    await second.client.close()
    await alice.send({"type": "typing", "room": extra["id"]})
    assert (await alice.recv("error"))["code"] == "not_subscribed"
    await alice.send({"type": "ping", "ref": "p"})
    assert (await alice.recv("pong"))["ref"] == "p"
    # Members joining and leaving are told to the room's subscribers.
    carol_user, carol_token = await server.user("carol")
    assert (await server.http.post(f"/rooms/{ours['id']}/join", headers=auth(carol_token))).status_code == 204
    assert (await alice.recv("member_added"))["user"]["id"] == carol_user["id"]
    r = await server.http.delete(f"/rooms/{ours['id']}/members/{carol_user['id']}", headers=auth(carol_token))
    assert r.status_code == 204
    assert (await alice.recv("member_removed"))["user_id"] == carol_user["id"]
    await alice.send({"type": "unsubscribe", "rooms": [ours["id"]], "ref": "u"})
    assert (await alice.recv("unsubscribed"))["reason"] == "requested"
    alice_id = (await server.me(alice_token))["id"]
    r = await server.http.delete(f"/rooms/{theirs['id']}/members/{alice_id}", headers=auth(bob_token))
    assert r.status_code == 204
    assert (await alice.recv("unsubscribed"))["reason"] == "removed from room"
    assert (await server.http.delete(f"/rooms/{doomed['id']}", headers=auth(bob_token))).status_code == 204
    assert (await alice.recv("unsubscribed"))["reason"] == "room deleted"
    assert {f["type"] for f in alice.seen} == set(MUX_SERVER_FRAMES)
    assert {f["type"] for f in alice.sent + second.sent} == set(MUX_CLIENT_FRAMES)


async def test_the_service_serves_the_document(server: LiveServer) -> None:
    r = await server.http.get(f"{server.base}/asyncapi.yaml")
    assert r.status_code == 200 and r.headers["content-type"] == "application/yaml"
    assert r.content == DOCUMENT.read_bytes()
