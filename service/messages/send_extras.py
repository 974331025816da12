"""What a batch with replies or mentions adds to the plain statements, in the
same transaction. Before the seqs are reserved (the rooms' locks held): each
reply's root checked (else InvalidThread, and nothing stored for it) and the
mentions resolved. After the insert: the mention columns and rows, the roots'
counts, each reply's root as of it, and the followers' markers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.messages import mentions, threads
from service.messages.entries import InvalidThread, RootCounts, StoreResult
from service.messages.mentions import MentionRow, Named
from service.messages.sends import Sends
from service.messages.stream_reads import stored_under
from service.messages.stream_rows import dump
from service.messages.threads import Follow, Root, RootUpdate, follows
from service.tables import messages

Roots = dict[tuple[int, int], Root]  # (room, seq) -> a root a reply of the batch names

NOT_A_ROOT = "a reply's thread_seq must be the seq of a top-level message of the room that is not deleted"

_MENTIONS = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(mention_ids=bindparam("ids"), mentions_room=bindparam("room"))
)


async def before(conn: AsyncConnection, batch: Sends) -> Roots:
    """Replies to no valid root answered InvalidThread (or, sent before, with the
    original); the mentions of the rest resolved. The valid roots."""
    sends = batch.sends
    new = [i for indexes in batch.by_room.values() for i in indexes]
    wanted = {(p.room_id, p.thread_seq) for i in new if (p := sends[i]).thread_seq is not None}
    roots = await threads.valid_roots(conn, wanted) if wanted else {}
    refused = [
        i for i in new if sends[i].thread_seq is not None and (sends[i].room_id, sends[i].thread_seq) not in roots
    ]
    if refused:
        await _refuse(conn, batch, refused)
    said: dict[int, Named] = {}
    for indexes in batch.by_room.values():
        for i in indexes:
            if "@" in sends[i].body and (named := mentions.named(sends[i].body)) is not mentions.NOBODY:
                said[i] = named
    names: dict[int, set[str]] = {}
    for i, named in said.items():
        names.setdefault(sends[i].room_id, set()).update(named.names())
    members = await mentions.members_named(conn, {room: wanted for room, wanted in names.items() if wanted})
    for i, named in said.items():
        ids = mentions.resolve(named, members.get(sends[i].room_id, {}), sends[i].user_id)
        if ids or named.room:
            batch.mentioned[i] = (ids, named.room)
    return roots


async def _refuse(conn: AsyncConnection, batch: Sends, refused: Sequence[int]) -> None:
    sends = batch.sends
    # A resend of a reply stored before its root went: the original, as for any repeat.
    keys = [(sends[i].room_id, sends[i].user_id, sends[i].client_msg_id) for i in refused]
    stored = await stored_under(conn, [(r, u, c) for r, u, c in keys if c is not None])
    for i, (room_id, user_id, client_msg_id) in zip(refused, keys, strict=True):
        original = stored.get((room_id, user_id, client_msg_id)) if client_msg_id is not None else None
        batch.answer(i, StoreResult(original, created=False) if original else InvalidThread(NOT_A_ROOT))


async def after(conn: AsyncConnection, batch: Sends, ids: Sequence[int], now: datetime, roots: Roots) -> None:
    """The batch's replies and mentions, once its rows are in (`ids` in `placed` order)."""
    sends, mentioned = batch.sends, batch.mentioned
    id_of = {i: message_id for (i, _), message_id in zip(batch.placed, ids, strict=True)}
    placed = [(i, seq) for i, seq in batch.placed if i in mentioned or sends[i].thread_seq is not None]
    said = [(i, seq) for i, seq in placed if i in mentioned]
    if said:
        await conn.execute(
            _MENTIONS,
            [
                {
                    "message_id": id_of[i],
                    "ids": dump(mentioned[i][0]) if mentioned[i][0] else None,
                    "room": mentioned[i][1],
                }
                for i, _ in said
            ],
        )
        await mentions.write_rows(
            conn,
            (MentionRow(id_of[i], sends[i].room_id, seq, sends[i].thread_seq, *mentioned[i]) for i, seq in said),
        )
    replies = sorted(((seq, i) for i, seq in placed if sends[i].thread_seq is not None))
    if replies:
        await _add_replies(conn, batch, [(i, seq, id_of[i]) for seq, i in replies], now, roots)


async def _add_replies(
    conn: AsyncConnection, batch: Sends, replies: Sequence[tuple[int, int, int]], now: datetime, roots: Roots
) -> None:
    """Each reply (index, seq, id) in seq order: its root's counts after it, its author's
    marker moved to it; the root's author and the users it names follow the thread."""
    sends, mentioned = batch.sends, batch.mentioned
    counts = {key: root.reply_count for key, root in roots.items()}
    updates: dict[tuple[int, int], RootUpdate] = {}
    details: list[tuple[int, int, str]] = []
    created: dict[Follow, int] = {}
    moved: dict[Follow, int] = {}
    for i, seq, reply_id in replies:
        p = sends[i]
        assert p.thread_seq is not None
        key = (p.room_id, p.thread_seq)
        counts[key] += 1
        batch.roots[i] = after_it = RootCounts(p.thread_seq, counts[key], now)
        details.append((reply_id, p.thread_seq, dump({"root": after_it})))
        updates[key] = RootUpdate(roots[key].id, counts[key], now, seq)
        follows(moved, (p.user_id, p.room_id, p.thread_seq), seq, lowest=False)
        for user_id in (roots[key].author, *mentioned.get(i, ((), False))[0]):
            if user_id != p.user_id:
                follows(created, (user_id, p.room_id, p.thread_seq), seq - 1, lowest=True)
    await threads.add_replies(conn, updates.values(), details)
    await threads.follow(conn, created=created, moved=moved)
