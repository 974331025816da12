"""Follow rooms of the chat service on one socket, across reconnects.

    pip install websockets
    python examples/follow.py http://127.0.0.1:8000 USERNAME PASSWORD ROOM_ID [ROOM_ID ...]

Prints every message of the rooms once, in order (replies marked with their
thread), and edits, deletes, reactions and pins as they come; after a disconnect
it resumes every room from its own cursor in one `subscribe` frame, with a
randomised exponential back-off (docs/protocol.md, "Writing a client").
"""

import asyncio
import json
import random
import sys
import urllib.error
import urllib.parse
import urllib.request

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


def login(base: str, username: str, password: str) -> str:
    form = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with urllib.request.urlopen(f"{base}/api/v1/auth/token", form) as response:
        return json.load(response)["access_token"]


STREAM = ("message", "edit", "delete", "reaction", "pin")  # the frames with a seq


def line(frame: dict) -> str:
    """A stream frame as text: a message in its current state, or a change of one."""
    who = frame["user"]["username"]
    if frame["type"] == "edit":
        return f"{who} edited {frame['target_seq']}: {frame['body'] or '(deleted since)'}"
    if frame["type"] == "delete":
        return f"{who} deleted {frame['target_seq']}"
    if frame["type"] == "reaction":
        return f"{who} {'added' if frame['op'] == 'add' else 'removed'} {frame['emoji']} on {frame['target_seq']}"
    if frame["type"] == "pin":
        return f"{who} {'pinned' if frame['op'] == 'add' else 'unpinned'} {frame['target_seq']}"
    thread = f"(in thread {frame['thread_seq']}) " if frame.get("thread_seq") else ""
    return f"{who}: {thread}{'(deleted)' if frame['deleted'] else frame['body']}"


async def follow(base: str, username: str, password: str, rooms: list[int]) -> None:
    cursors: dict[int, int | None] = {room: None for room in rooms}  # highest seq applied per room
    token = None
    delay = 0.5
    while cursors:
        try:
            token = token or await asyncio.to_thread(login, base, username, password)
            async with connect(f"{base.replace('http', 'ws', 1)}/ws?token={token}") as ws:
                wanted = [{"room": room, "since": since} for room, since in cursors.items()]
                await ws.send(json.dumps({"type": "subscribe", "rooms": wanted}))
                async for raw in ws:
                    frame = json.loads(raw)
                    room = frame.get("room")
                    if frame["type"] == "synced":
                        delay = 0.5
                    elif frame["type"] in STREAM and room in cursors:
                        if cursors[room] is None or frame["seq"] > cursors[room]:
                            cursors[room] = frame["seq"]
                            print(f"[{room}:{frame['seq']}] {line(frame)}", flush=True)
                    elif frame["type"] == "unsubscribed" or frame.get("code") == "room_not_found":
                        print(f"room {room}: {frame.get('reason', 'not found')}", file=sys.stderr)
                        cursors.pop(room, None)
                        if not cursors:
                            return
        except ConnectionClosed as closed:
            if closed.rcvd is not None and closed.rcvd.code == 1008:
                if closed.rcvd.reason not in ("token expired", "token revoked"):
                    sys.exit(f"refused: {closed.rcvd.reason}")
                token = None  # log in again
        except urllib.error.HTTPError as error:
            if error.code == 401:
                sys.exit("login failed")
        except OSError:
            pass  # the server is unreachable or restarting: retry
        await asyncio.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, 30)


if __name__ == "__main__":
    asyncio.run(follow(*sys.argv[1:4], [int(room) for room in sys.argv[4:]]))
