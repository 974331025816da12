"""The PostgreSQL statements of a batch's replies, files and mentions (send_extras.py
works out what they hold): each one statement over arrays (`unnest`), built
once, so a batch with replies or mentions costs a few statements more."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.messages import send_extras
from service.messages.send_extras import Planned, Roots
from service.messages.sends import Sends
from service.messages.threads import Root
from service.tables import messages

_ROOTS = text("""
SELECT m.room_id, m.seq, m.id, m.user_id, m.reply_count
FROM unnest(CAST(:rooms AS bigint[]), CAST(:seqs AS integer[])) AS w(room_id, seq)
JOIN messages AS m ON m.room_id = w.room_id AND m.seq = w.seq
WHERE m.kind = 'message' AND m.thread_seq IS NULL AND NOT m.deleted
""")
_MEMBERS = text("""
SELECT m.room_id, u.username_key, u.id
FROM unnest(CAST(:rooms AS bigint[]), CAST(:names AS varchar[])) AS w(room_id, name)
JOIN users AS u ON u.username_key = w.name
JOIN room_members AS m ON m.room_id = w.room_id AND m.user_id = u.id
""")
# Row locks: a file is attached once, whatever else writes meanwhile.
_FILES = text("""
SELECT id, uploader_id, message_id IS NULL AND deleted_at IS NULL, filename, content_type, size, sha256, width,
       height, created_at, thumbnail_key IS NOT NULL
FROM files WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE
""")
_ATTACH = text("""
UPDATE files SET message_id = a.message_id, room_id = a.room_id
FROM unnest(CAST(:ids AS bigint[]), CAST(:messages AS bigint[]), CAST(:rooms AS bigint[])) AS a(id, message_id, room_id)
WHERE files.id = a.id
""")
_ROOT_COUNTS = text("""
UPDATE messages SET reply_count = r.count, last_reply_at = :at, updated_seq = r.seq
FROM unnest(CAST(:ids AS bigint[]), CAST(:counts AS integer[]), CAST(:seqs AS integer[])) AS r(id, count, seq)
WHERE messages.id = r.id
""").bindparams(bindparam("at", type_=messages.c.last_reply_at.type))
_MENTION_ROWS = text("""
INSERT INTO mentions (user_id, message_id, room_id, seq, thread_seq, also_room)
SELECT * FROM unnest(CAST(:users AS bigint[]), CAST(:messages AS bigint[]), CAST(:rooms AS bigint[]),
                     CAST(:seqs AS integer[]), CAST(:threads AS integer[]), CAST(:also AS boolean[]))
""")
_MARKERS = """
INSERT INTO thread_markers (user_id, room_id, root_seq, last_read_seq)
SELECT * FROM unnest(CAST(:users AS bigint[]), CAST(:rooms AS bigint[]), CAST(:roots AS integer[]),
                     CAST(:seqs AS integer[]))
ON CONFLICT (user_id, room_id, root_seq) DO
"""
_FOLLOW = text(_MARKERS + "NOTHING")
_MOVE = text(
    _MARKERS
    + "UPDATE SET last_read_seq = excluded.last_read_seq WHERE thread_markers.last_read_seq < excluded.last_read_seq"
)


async def before(conn: AsyncConnection, batch: Sends) -> Roots:
    """With the rooms' locks held: the replies' roots and the files checked, the
    mentions resolved; the valid roots."""
    roots: dict[tuple[int, int], Root] = {}
    wanted = sorted(send_extras.wanted_roots(batch))
    if wanted:
        found = await conn.execute(_ROOTS, {"rooms": [r for r, _ in wanted], "seqs": [s for _, s in wanted]})
        roots = {(room_id, seq): Root(root_id, author, count) for room_id, seq, root_id, author, count in found}
        send_extras.refuse(batch, roots)
    files = send_extras.wanted_files(batch)
    if files:
        send_extras.attach(batch, [tuple(row) for row in await conn.execute(_FILES, {"ids": files})])
    said = send_extras.named(batch)
    if said:
        members: dict[int, dict[str, int]] = {}
        names = send_extras.wanted_names(batch, said)
        if names:
            found = await conn.execute(_MEMBERS, {"rooms": [r for r, _ in names], "names": [n for _, n in names]})
            for room_id, name, user_id in found:
                members.setdefault(room_id, {})[name] = user_id
        send_extras.mention(batch, said, members)
    return roots


async def after(conn: AsyncConnection, batch: Sends, planned: Planned, ids: Sequence[int], now: datetime) -> None:
    """Once the rows are in: the roots' counts, the mentions table, the files attached,
    the followers' markers."""
    id_of = {i: m for (i, _), m in zip(batch.placed, ids, strict=True)}
    if planned.roots:
        await conn.execute(
            _ROOT_COUNTS,
            {
                "ids": [r.id for r in planned.roots],
                "counts": [r.reply_count for r in planned.roots],
                "seqs": [r.updated_seq for r in planned.roots],
                "at": now,
            },
        )
    rows = send_extras.mention_rows(batch, id_of)
    if rows:
        names = ("users", "messages", "rooms", "seqs", "threads", "also")
        await conn.execute(_MENTION_ROWS, dict(zip(names, map(list, zip(*rows, strict=True)), strict=True)))
    attached = send_extras.attached_rows(batch, id_of)
    if attached:
        columns = dict(zip(("ids", "messages", "rooms"), map(list, zip(*attached, strict=True)), strict=True))
        await conn.execute(_ATTACH, columns)
    for statement, markers in ((_FOLLOW, planned.created), (_MOVE, planned.moved)):
        if markers:
            keys = list(markers)
            await conn.execute(
                statement,
                {
                    "users": [u for u, _, _ in keys],
                    "rooms": [r for _, r, _ in keys],
                    "roots": [root for _, _, root in keys],
                    "seqs": list(markers.values()),
                },
            )
