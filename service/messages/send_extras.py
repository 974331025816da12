"""What a batch with replies, files or mentions adds to a plain one, worked out in
Python for either dialect's statements (sqlite_extras.py, postgres_extras.py).

Before the seqs are reserved, under the rooms' locks: replies to no valid root are
refused (InvalidThread), and so are sends naming a file that is not the sender's
own unattached upload (InvalidFiles), nothing stored for either; the mentions are
resolved against the rooms' members. Once the seqs are placed: each row's extra
columns (its root, its mentions, its root's counts as of it, its files), the roots'
new counts, the rows of the mentions table, the files attached and the followers'
markers."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.files.objects import file_object
from service.messages import mentions
from service.messages.entries import NOT_YOURS, InvalidFiles, InvalidThread, RootCounts
from service.messages.mentions import Named
from service.messages.sends import Sends
from service.messages.store import LookUpRepeats
from service.messages.threads import Follow, Root, follows

NOT_A_ROOT = "a reply's thread_seq must be the seq of a top-level message of the room that is not deleted"

Roots = Mapping[tuple[int, int], Root]  # (room, seq) -> a root a reply of the batch names
Members = Mapping[int, Mapping[str, int]]  # room -> {lowercased name: user id}
# A mentions row: user, message id, room, seq, thread_seq, also_room.
MentionRow = tuple[int, int, int, int, int | None, bool]
# A file named by the batch, as the look-up found it: id, uploader, whether it may be
# attached (not attached, not deleted), filename, content_type, size, sha256, width,
# height, created_at, whether it has a thumbnail.
FileRow = tuple[int, int, bool, str, str, int, str, int | None, int | None, Any, bool]


def wanted_roots(batch: Sends) -> set[tuple[int, int]]:
    """(room, seq) of the roots the batch's new replies name."""
    sends = batch.sends
    return {
        (p.room_id, p.thread_seq)
        for indexes in batch.by_room.values()
        for i in indexes
        if (p := sends[i]).thread_seq is not None
    }


def refuse(batch: Sends, roots: Collection[tuple[int, int]]) -> dict[int, int]:
    """Replies whose root is not among `roots` (the valid ones) answered InvalidThread;
    how many in each room."""
    sends = batch.sends
    refused = [
        i
        for indexes in batch.by_room.values()
        for i in indexes
        if (p := sends[i]).thread_seq is not None and (p.room_id, p.thread_seq) not in roots
    ]
    return _refuse(batch, refused, InvalidThread(NOT_A_ROOT))


def wanted_files(batch: Sends) -> list[int]:
    """The ids of the files the batch's new sends attach."""
    sends = batch.sends
    return sorted({f for indexes in batch.by_room.values() for i in indexes for f in sends[i].files})


def attach(batch: Sends, found: Iterable[FileRow]) -> dict[int, int]:
    """Sends naming a file that is not the sender's own free upload, or one twice, or
    one an earlier send of the batch takes, answered InvalidFiles (how many in each
    room); the others' File objects kept for their rows and results."""
    files = {row[0]: row for row in found}
    sends, taken, refused = batch.sends, set[int](), []
    for i in sorted(i for indexes in batch.by_room.values() for i in indexes if batch.sends[i].files):
        named = sends[i].files
        rows = [files.get(f) for f in named]
        if (
            len(set(named)) < len(named)
            or taken & set(named)
            or not all(row is not None and row[1] == sends[i].user_id and row[2] for row in rows)
        ):
            refused.append(i)
            continue
        taken.update(named)
        batch.files[i] = tuple(_object(row) for row in rows if row is not None)
    return _refuse(batch, refused, InvalidFiles(NOT_YOURS))


def _object(row: FileRow) -> dict[str, Any]:
    file_id, _, _, filename, content_type, size, sha256, width, height, created_at, thumbnail = row
    return file_object(
        file_id=file_id,
        filename=filename,
        content_type=content_type,
        size=size,
        sha256=sha256,
        width=width,
        height=height,
        created_at=created_at,
        has_thumbnail=bool(thumbnail),
    )


def _refuse(batch: Sends, refused: Sequence[int], error: Exception) -> dict[int, int]:
    sends, by_room = batch.sends, dict[int, int]()
    for i in refused:
        if sends[i].client_msg_id is not None and not batch.looked_up:
            # A resend of one stored before its root went (or that took its files) gets the original.
            raise LookUpRepeats
        batch.answer(i, error)
        by_room[sends[i].room_id] = by_room.get(sends[i].room_id, 0) + 1
    return by_room


def named(batch: Sends) -> dict[int, Named]:
    """What each new send's body names, where it names anyone."""
    sends, said = batch.sends, {}
    for indexes in batch.by_room.values():
        for i in indexes:
            if "@" in sends[i].body and (who := mentions.named(sends[i].body)) is not mentions.NOBODY:
                said[i] = who
    return said


def wanted_names(batch: Sends, said: Mapping[int, Named]) -> list[tuple[int, str]]:
    """(room, name) of every name worth looking up among the rooms' members."""
    sends = batch.sends
    return sorted({(sends[i].room_id, name) for i, who in said.items() for name in who.names()})


def mention(batch: Sends, said: Mapping[int, Named], members: Members) -> None:
    """Each new send's mentions: the members it names (never its author), @room."""
    sends, new = batch.sends, batch.by_room
    for i, who in said.items():
        if i not in new.get(sends[i].room_id, ()):
            continue  # refused meanwhile
        ids = mentions.resolve(who, members.get(sends[i].room_id, {}), sends[i].user_id)
        if ids or who.room:
            batch.mentioned[i] = (ids, who.room)


@dataclass(frozen=True, slots=True)
class Extra:
    """A row's columns beyond a plain message's (JSON as values, for the statement's parameter)."""

    thread_seq: int | None
    mention_ids: tuple[int, ...] | None
    mentions_room: bool
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class RootUpdate:
    """A root after the replies a batch added to it."""

    id: int
    reply_count: int
    updated_seq: int  # the last reply's


@dataclass(slots=True)
class Planned:
    extras: dict[int, Extra] = field(default_factory=dict)  # index -> its extra columns
    roots: list[RootUpdate] = field(default_factory=list)
    # Followers' markers where absent (none of them also moved: a writer's marker
    # ends at their reply whatever came before), and writers' markers, forward only.
    created: dict[Follow, int] = field(default_factory=dict)
    moved: dict[Follow, int] = field(default_factory=dict)


def plan(batch: Sends, roots: Roots, now: datetime) -> Planned:
    """Once placed: each reply's root counts as of it (in seq order), the extra
    columns of every reply and mentioning send, the roots' counts and markers.
    A reply's author follows at it; the root's author and those the reply names,
    just below it (a reply that makes them follow is unread to them)."""
    sends, mentioned, planned = batch.sends, batch.mentioned, Planned()
    counts = {key: root.reply_count for key, root in roots.items()}
    updates: dict[tuple[int, int], RootUpdate] = {}
    for i, seq in batch.placed:  # by room, then seq
        p = sends[i]
        ids, room = mentioned.get(i, ((), False))
        files = {"files": batch.files[i]} if i in batch.files else {}
        if p.thread_seq is None:
            if i in mentioned or files:
                planned.extras[i] = Extra(None, ids or None, room, files or None)
            continue
        key = (p.room_id, p.thread_seq)
        counts[key] += 1
        batch.roots[i] = after_it = RootCounts(p.thread_seq, counts[key], now)
        planned.extras[i] = Extra(p.thread_seq, ids or None, room, {"root": after_it, **files})
        updates[key] = RootUpdate(roots[key].id, counts[key], seq)
        follows(planned.moved, (p.user_id, p.room_id, p.thread_seq), seq, lowest=False)
        for user_id in (roots[key].author, *ids):
            if user_id != p.user_id:
                follows(planned.created, (user_id, p.room_id, p.thread_seq), seq - 1, lowest=True)
    planned.roots = list(updates.values())
    for follower in planned.moved.keys() & planned.created.keys():
        del planned.created[follower]
    return planned


def mention_rows(batch: Sends, id_of: Mapping[int, int]) -> list[MentionRow]:
    """The mentions table's rows of the placed sends (`id_of`: index -> message id)."""
    sends = batch.sends
    return [
        (user_id, id_of[i], sends[i].room_id, seq, sends[i].thread_seq, room)
        for i, seq in batch.placed
        if i in batch.mentioned
        for ids, room in [batch.mentioned[i]]
        for user_id in ids
    ]


def attached_rows(batch: Sends, id_of: Mapping[int, int]) -> list[tuple[int, int, int]]:
    """(file, message id, room) of each file the placed sends attach."""
    sends = batch.sends
    return [(int(f["id"]), id_of[i], sends[i].room_id) for i, _ in batch.placed for f in batch.files.get(i, ())]
