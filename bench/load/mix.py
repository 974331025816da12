"""The many-rooms traffic mix: a share of each sender's messages are replies
(`thread_seq` = its latest top-level message whose echo it has seen), a share name a
room member (`@name`) and a share the room (`@room`). Which message is which
follows from its number n alone, evenly spaced, so the receivers need no state for
it. The tags go after the body's third colon: "<sender>:<n>:<t_ns>:@name @room xxx…",
the body's length kept."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import orjson

# `--mix` alone: a tenth replies, a tenth name the room's creator, every other one of those also @room.
DEFAULT = "replies=0.1,mentions=0.1,room=0.05"


def evenly(n: int, share: float, phase: float) -> bool:
    """Message n is one of a `share` of messages spaced evenly, shifted by `phase`."""
    return share > 0 and int((n + 1) * share + phase) > int(n * share + phase)


@dataclass(frozen=True, slots=True)
class Mix:
    replies: float = 0.0
    mentions: float = 0.0
    room: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.replies or self.mentions or self.room)

    def is_reply(self, n: int) -> bool:
        return evenly(n, self.replies, 0.0)

    def frame(self, sender: int, n: int, ts: int, pad: str, root: int | None, name: str) -> str:
        """Message n of `sender`: a reply to `root` if it is one of the replies and a
        root is known, with its tags (phases chosen so replies carry none and, at the
        default shares, each @room message also names the member)."""
        tags = (f"@{name} " if name and evenly(n, self.mentions, 0.5) else "") + (
            "@room " if evenly(n, self.room, 0.75) else ""
        )
        frame: dict[str, object] = {
            "type": "message",
            "body": f"{sender}:{n}:{ts}:{tags}{pad[len(tags) :]}",
            "client_msg_id": f"{sender}-{n}",
        }
        if root is not None and self.is_reply(n):
            frame["thread_seq"] = root
        return orjson.dumps(frame).decode()


PLAIN = Mix()


def parse(text: str) -> Mix:
    """'replies=0.1,mentions=0.1,room=0.05' (any of the three, shares 0..1)."""
    shares: dict[str, float] = {}
    for part in filter(None, text.split(",")):
        key, sep, value = part.partition("=")
        if not sep or key not in ("replies", "mentions", "room"):
            raise argparse.ArgumentTypeError(f"expected replies=, mentions= or room=, not {part!r}")
        shares[key] = float(value)
        if not 0 <= shares[key] <= 1:
            raise argparse.ArgumentTypeError(f"{key} must be a share from 0 to 1")
    return Mix(**shares)


def checked(text: str) -> str:
    """text as given, once parse() takes it (run.py hands it on to the load client)."""
    parse(text)
    return text
