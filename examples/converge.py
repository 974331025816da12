"""Keep a room's messages exact from frames and REST pages, whatever order they come in.

    pip install websockets
    python examples/converge.py http://127.0.0.1:8000 USERNAME PASSWORD ROOM_ID

Follows one room on `/ws` while it loads the room's history over REST, and merges
both by the rule of docs/protocol.md, "Converging exactly": an entry changes a
message only when its `seq` is above the message's `updated_seq`; a copy of a
message replaces the one held when its `updated_seq` is not below. Prints a
message's whole state as one JSON line each time it changes.
"""

import asyncio
import json
import sys
import urllib.parse
import urllib.request

from websockets.asyncio.client import connect

STREAM = {"message", "edit", "delete", "reaction", "pin"}
# What a message frame carries beyond the message itself.
FRAME_ONLY = {"type", "room", "root", "duplicate", "ref"}


class Messages:
    """A room's messages (replies too) by seq, each as of its `updated_seq`."""

    def __init__(self) -> None:
        self.by_seq: dict[int, dict] = {}
        # Entries for messages not held yet, by the message's seq: a page asked
        # before the entry was stored may still bring the message as it was.
        self.waiting: dict[int, list[dict]] = {}

    def take(self, copy: dict) -> bool:
        """A message in its current state (a REST item or a message frame)."""
        held = self.by_seq.get(copy["seq"])
        if held is not None and copy["updated_seq"] < held["updated_seq"]:
            return False  # older than what we hold
        self.by_seq[copy["seq"]] = {k: v for k, v in copy.items() if k not in FRAME_ONLY}
        for frame in sorted(self.waiting.pop(copy["seq"], []), key=lambda f: f["seq"]):
            self._apply_to(copy["seq"], frame)
        return True

    def apply(self, frame: dict) -> list[int]:
        """One entry of the stream; the seqs of the messages it changed."""
        changed = []
        if frame["type"] == "message" and self.take(frame):
            changed.append(frame["seq"])
        concerned = [frame["target_seq"]] if frame["type"] in APPLY else []
        if frame.get("root") is not None:  # on a reply, and on the delete of one
            concerned.append(frame["root"]["seq"])
        for seq in concerned:
            if seq not in self.by_seq:
                self.waiting.setdefault(seq, []).append(frame)
            elif self._apply_to(seq, frame):
                changed.append(seq)
        return changed

    def _apply_to(self, seq: int, frame: dict) -> bool:
        """The entry applied to the held message at `seq` if it is news to it."""
        message = self.by_seq[seq]
        if frame["seq"] <= message["updated_seq"]:
            return False
        message["updated_seq"] = frame["seq"]
        if frame["type"] in APPLY and frame["target_seq"] == seq:
            APPLY[frame["type"]](message, frame)
        root = frame.get("root")
        if root is not None and root["seq"] == seq:
            message["reply_count"], message["last_reply_at"] = root["reply_count"], root["last_reply_at"]
        return True


def _edit(message: dict, frame: dict) -> None:
    message["body"], message["edited_at"] = frame["body"], frame["edited_at"]
    message["mentions"], message["mentions_room"] = frame["mentions"], frame["mentions_room"]


def _delete(message: dict, frame: dict) -> None:
    message.update(deleted=True, body=None, reactions=[], pinned=False, mentions=[], mentions_room=False, files=[])


def _reaction(message: dict, frame: dict) -> None:
    reactions = message["reactions"]
    emoji = next((r for r in reactions if r["emoji"] == frame["emoji"]), None)
    if emoji is None:
        emoji = {"emoji": frame["emoji"], "count": 0, "user_ids": []}
        reactions.append(emoji)
    emoji["count"] = frame["count"]  # set, never added
    user = frame["user"]["id"]
    if frame["op"] == "add" and user not in emoji["user_ids"] and len(emoji["user_ids"]) < 100:
        emoji["user_ids"].append(user)
    elif frame["op"] == "remove" and user in emoji["user_ids"]:
        emoji["user_ids"].remove(user)
    if emoji["count"] == 0:
        reactions.remove(emoji)


def _pin(message: dict, frame: dict) -> None:
    message["pinned"] = frame["op"] == "add"


APPLY = {"edit": _edit, "delete": _delete, "reaction": _reaction, "pin": _pin}


def login(base: str, username: str, password: str) -> str:
    form = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with urllib.request.urlopen(f"{base}/api/v1/auth/token", form) as response:
        return json.load(response)["access_token"]


def history(base: str, token: str, room: int) -> list[dict]:
    request = urllib.request.Request(
        f"{base}/api/v1/rooms/{room}/messages", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)["items"]


def show(messages: Messages, seqs: list[int]) -> None:
    for seq in seqs:
        print(json.dumps(messages.by_seq[seq], ensure_ascii=False, sort_keys=True), flush=True)


async def converge(base: str, username: str, password: str, room: int) -> None:
    token = await asyncio.to_thread(login, base, username, password)
    messages = Messages()

    async def load_history() -> None:
        items = await asyncio.to_thread(history, base, token, room)
        show(messages, [item["seq"] for item in items if messages.take(item)])

    async with connect(f"{base.replace('http', 'ws', 1)}/ws?token={token}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "rooms": [{"room": room, "since": None}]}))
        # The page is read while the socket replays and goes live: either may be the newer.
        page = asyncio.create_task(load_history())
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] in STREAM and frame.get("room") == room:
                show(messages, messages.apply(frame))
            elif frame["type"] == "unsubscribed" or frame.get("code") == "room_not_found":
                sys.exit(f"room {room}: {frame.get('reason', 'not found')}")
        await page


if __name__ == "__main__":
    asyncio.run(converge(*sys.argv[1:4], int(sys.argv[4])))
