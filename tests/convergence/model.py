"""What the server must hold after each operation of the random mix, kept by the test
alone from SPEC 2, 3.5-3.7 and the design's rules: every message's body, tombstone,
thread counts, reactions and pin, and the entry that last changed it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

Frame = dict[str, Any]


@dataclass
class Msg:
    seq: int
    author: int  # user id
    body: str | None
    client_msg_id: str | None
    created_at: str
    thread_seq: int | None
    updated_seq: int
    edited: bool = False
    deleted: bool = False
    reply_count: int = 0
    last_reply_at: str | None = None
    reactions: list[tuple[str, list[int]]] = field(default_factory=list)  # emoji, users in order, as first added
    pinned_seq: int | None = None

    def users_of(self, emoji: str) -> list[int] | None:
        return next((users for e, users in self.reactions if e == emoji), None)

    def expected(self) -> Frame:
        """The fields of the Message object the model knows, as `projection` reads them."""
        return {
            "seq": self.seq,
            "user": self.author,
            "body": self.body,
            "client_msg_id": self.client_msg_id,
            "created_at": self.created_at,
            "edited": self.edited,
            "deleted": self.deleted,
            "thread_seq": self.thread_seq,
            "reply_count": self.reply_count,
            "last_reply_at": self.last_reply_at,
            "reactions": [{"emoji": e, "count": len(u), "user_ids": list(u)} for e, u in self.reactions],
            "pinned": self.pinned_seq is not None,
            "updated_seq": self.updated_seq,
        }


# What the model knows of each kind of entry's frame, beside type, target_seq and user.
SAID = {"edit": ("body",), "delete": ("unpinned", "root"), "reaction": ("emoji", "op", "count"), "pin": ("op",)}


def entry_of(frame: Frame) -> Frame:
    """The model's fields of a stream frame (GET /events, a socket): a message's `root`
    (None for a top-level one), another entry's target, who made it and what it says."""
    if frame["type"] == "message":
        return {"type": "message", "root": frame.get("root")}
    said = {k: frame.get(k) for k in SAID[frame["type"]]}
    return {"type": frame["type"], "target_seq": frame["target_seq"], "user": frame["user"]["id"], **said}


def projection(message: Frame) -> Frame:
    """The model's fields of a Message object (REST item, frame or a client's copy)."""
    keys = ("seq", "body", "client_msg_id", "created_at", "deleted", "thread_seq", "reply_count", "last_reply_at")
    return {
        **{k: message[k] for k in keys},
        "user": message["user"]["id"],
        "edited": message["edited_at"] is not None,
        "reactions": message["reactions"],
        "pinned": message["pinned"],
        "updated_seq": message["updated_seq"],
    }


@dataclass
class RoomModel:
    id: int
    owner: int  # user id
    last: int = 0
    entries: dict[int, Frame] = field(default_factory=dict)  # seq -> its frame, as `entry_of` reads it
    messages: dict[int, Msg] = field(default_factory=dict)  # replies too
    sent: dict[tuple[int, str], int] = field(default_factory=dict)  # (user, client_msg_id) -> seq
    cases: Counter[str] = field(default_factory=Counter)  # what the mix did, to check it did enough

    def _changed(self, msg: Msg, kind: str, user: int, **said: Any) -> Frame:
        """A new entry about `msg` (its frame's fields filled in by the caller where they follow from it)."""
        self.last += 1
        msg.updated_seq = self.last
        entry: Frame = {"type": kind, "target_seq": msg.seq, "user": user, **said}
        self.entries[self.last] = entry
        return entry

    @staticmethod
    def _counts(root: Msg) -> Frame:
        return {"seq": root.seq, "reply_count": root.reply_count, "last_reply_at": root.last_reply_at}

    # What an operation must answer, and what it stores --------------------------------

    def valid_root(self, seq: int | None) -> bool:
        root = self.messages.get(seq) if seq is not None else None
        return root is not None and root.thread_seq is None and not root.deleted

    def stored(self, user: int, cid: str | None, body: str, thread_seq: int | None, created_at: str) -> Msg:
        """A new message (or reply) at the next seq."""
        self.last += 1
        msg = self.messages[self.last] = Msg(self.last, user, body, cid, created_at, thread_seq, self.last)
        self.entries[msg.seq] = {"type": "message", "root": None}
        if cid is not None:
            self.sent[user, cid] = msg.seq
        if thread_seq is not None:
            self.cases["reply"] += 1
            root = self.messages[thread_seq]
            root.reply_count += 1
            root.last_reply_at = created_at
            root.updated_seq = msg.seq
            self.entries[msg.seq]["root"] = self._counts(root)
        return msg

    def edit(self, user: int, seq: int, body: str) -> int:
        """The status an edit gets; an edit entry when 200."""
        msg = self.messages.get(seq)
        if msg is None:
            return 404
        if msg.author != user:
            return 403
        if msg.deleted:
            return 409
        self.cases["edit of a reply" if msg.thread_seq else "edit"] += 1
        self._changed(msg, "edit", user, body=body)
        msg.body, msg.edited = body, True
        return 200

    def delete(self, user: int, seq: int) -> int:
        msg = self.messages.get(seq)
        if msg is None:
            return 404
        if user not in (msg.author, self.owner):
            return 403
        if msg.deleted:
            self.cases["a delete that changes nothing"] += 1
            return 204  # nothing new in the stream
        self.cases["delete of a reply" if msg.thread_seq else "delete of a message"] += 1
        self.cases["delete of a root with replies"] += bool(self.replies(seq))
        self.cases["delete of a pinned message"] += msg.pinned_seq is not None
        self.cases["delete of a message with reactions"] += bool(msg.reactions)
        entry = self._changed(msg, "delete", user, unpinned=msg.pinned_seq is not None, root=None)
        msg.body, msg.deleted, msg.reactions, msg.pinned_seq = None, True, [], None
        for edit in self.entries.values():
            if edit["type"] == "edit" and edit["target_seq"] == seq:
                edit["body"] = None  # gone for good, from the stream too
        if msg.thread_seq is not None:
            root = self.messages[msg.thread_seq]
            alive = [m for m in self.replies(root.seq) if not m.deleted]
            root.reply_count = len(alive)
            root.last_reply_at = alive[-1].created_at if alive else None
            root.updated_seq = self.last
            entry["root"] = self._counts(root)
        return 204

    def react(self, user: int, seq: int, emoji: str, add: bool) -> int:
        msg = self.messages.get(seq)
        if msg is None:
            return 404
        users = msg.users_of(emoji)
        if add and msg.deleted:
            self.cases["a reaction on a deleted message"] += 1
            return 409
        if add == (users is not None and user in users):
            self.cases["a reaction that changes nothing"] += 1
            return 204  # had it already, or never had it: nothing stored
        self.cases["reaction added" if add else "reaction removed"] += 1
        if users is None:
            users = []
            msg.reactions.append((emoji, users))
        if add:
            users.append(user)
        else:
            users.remove(user)
            if not users:
                msg.reactions = [(e, u) for e, u in msg.reactions if e != emoji]
        self._changed(msg, "reaction", user, emoji=emoji, op="add" if add else "remove", count=len(users))
        return 204

    def pin(self, user: int, seq: int, add: bool) -> int:
        msg = self.messages.get(seq)
        if msg is None:
            return 404
        if add and msg.deleted:
            return 409
        if add == (msg.pinned_seq is not None):
            self.cases["a pin that changes nothing"] += 1
            return 204
        self.cases["pin" if add else "unpin"] += 1
        self._changed(msg, "pin", user, op="add" if add else "remove")
        msg.pinned_seq = self.last if add else None
        return 204

    # Reading ------------------------------------------------------------------------

    def replies(self, root: int) -> list[Msg]:
        return [m for m in self.messages.values() if m.thread_seq == root]

    def top_level(self) -> list[Msg]:
        return [m for m in self.messages.values() if m.thread_seq is None]

    def pins(self) -> list[int]:
        """Pinned seqs, the most recently pinned first (GET /rooms/{id}/pins)."""
        pinned = [m for m in self.messages.values() if m.pinned_seq is not None]
        return [m.seq for m in sorted(pinned, key=lambda m: -(m.pinned_seq or 0))]
