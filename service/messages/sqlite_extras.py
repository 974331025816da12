"""The SQLite statements of a batch's replies, files and mentions (send_extras.py works
out what they hold): each one statement whose rows travel as one JSON parameter,
run as the plain batch's are, so a batch with replies or mentions costs a few
statements more, not a statement per row."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from service.messages import send_extras
from service.messages.send_extras import Planned, Roots
from service.messages.sends import Sends
from service.messages.sqlite_run import Run
from service.messages.threads import Root

# More columns of the reservation's SELECT (sqlite_store.py), so the look-ups cost
# no statement of their own, under the same BEGIN IMMEDIATE: ?3 [[room, seq], …] ->
# the valid roots among them [[room, seq, id, author, reply_count], …]; ?4 [[room,
# name], …] -> the members of each room by those lowercased names [[room, name, id], …];
# ?5 [file id, …] -> those files (send_extras.FileRow).
LOOKUPS = """,
       (SELECT json_group_array(json_array(m.room_id, m.seq, m.id, m.user_id, m.reply_count))
        FROM json_each(?3) AS w
        JOIN messages AS m ON m.room_id = json_extract(w.value, '$[0]') AND m.seq = json_extract(w.value, '$[1]')
        WHERE m.kind = 'message' AND m.thread_seq IS NULL AND NOT m.deleted),
       (SELECT json_group_array(json_array(m.room_id, u.username_key, u.id))
        FROM json_each(?4) AS w
        JOIN users AS u ON u.username_key = json_extract(w.value, '$[1]')
        JOIN room_members AS m ON m.room_id = json_extract(w.value, '$[0]') AND m.user_id = u.id),
       (SELECT json_group_array(json_array(f.id, f.uploader_id, f.message_id IS NULL AND f.deleted_at IS NULL,
                                           f.filename, f.content_type, f.size, f.sha256, f.width, f.height,
                                           f.created_at, f.thumbnail_key IS NOT NULL))
        FROM json_each(?5) AS w JOIN files AS f ON f.id = w.value)
"""
# ?1: [[root id, reply_count, updated_seq], …]; ?2: the replies' created_at.
ROOT_COUNTS = """
UPDATE messages SET reply_count = json_extract(r.value, '$[1]'), last_reply_at = ?2,
                    updated_seq = json_extract(r.value, '$[2]')
FROM json_each(?1) AS r WHERE messages.id = json_extract(r.value, '$[0]')
"""
MENTION_ROWS = """
INSERT INTO mentions (user_id, message_id, room_id, seq, thread_seq, also_room)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]')
FROM json_each(?1)
"""
# ?1: [[file, message id, room], …].
ATTACH = """
UPDATE files SET message_id = json_extract(a.value, '$[1]'), room_id = json_extract(a.value, '$[2]')
FROM json_each(?1) AS a WHERE files.id = json_extract(a.value, '$[0]')
"""
# ?1: [[user, room, root seq, seq], …], created where absent; of those, ?2 ["user,room,root", …]
# move forward where present. `WHERE true` keeps ON CONFLICT from reading as a join's.
MARKERS = """
INSERT INTO thread_markers (user_id, room_id, root_seq, last_read_seq)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       json_extract(value, '$[3]')
FROM json_each(?1) WHERE true
ON CONFLICT (user_id, room_id, root_seq) DO UPDATE SET last_read_seq = excluded.last_read_seq
WHERE thread_markers.last_read_seq < excluded.last_read_seq
  AND excluded.user_id || ',' || excluded.room_id || ',' || excluded.root_seq IN (SELECT value FROM json_each(?2))
"""


def json_text(value: object) -> str:
    # Text, not bytes: SQLite 3.45+ may read a blob as binary JSON.
    return orjson.dumps(value, option=orjson.OPT_UTC_Z).decode()


class Lookups:
    """What a batch's replies and mentions need read before its seqs are placed."""

    def __init__(self, batch: Sends) -> None:
        self.said = send_extras.named(batch)
        self.wanted = sorted(send_extras.wanted_roots(batch))
        self.files = send_extras.wanted_files(batch)
        self.params = (
            json_text(self.wanted),
            json_text(send_extras.wanted_names(batch, self.said)),
            json_text(self.files),
        )

    def found(
        self, batch: Sends, roots_found: str, members_found: str, files_found: str
    ) -> tuple[Roots, dict[int, int]]:
        """From LOOKUPS' columns: the replies to no valid root and the sends with files
        they may not attach refused (how many in each room), the mentions resolved;
        the valid roots."""
        roots = {(r, seq): Root(root_id, author, count) for r, seq, root_id, author, count in orjson.loads(roots_found)}
        refused = send_extras.refuse(batch, roots) if self.wanted else {}
        if self.files:
            for room_id, n in send_extras.attach(batch, orjson.loads(files_found)).items():
                refused[room_id] = refused.get(room_id, 0) + n
        members: dict[int, dict[str, int]] = {}
        for room_id, name, user_id in orjson.loads(members_found):
            members.setdefault(room_id, {})[name] = user_id
        send_extras.mention(batch, self.said, members)
        return roots, refused


def extra_columns(planned: Planned, i: int) -> tuple[object, ...]:
    """A row's thread_seq, mention_ids, mentions_room and detail, for the insert's JSON."""
    extra = planned.extras.get(i)
    if extra is None:
        return (None, None, False, None)
    return (extra.thread_seq, extra.mention_ids, extra.mentions_room, extra.detail)


async def after(run: Run, batch: Sends, planned: Planned, ids: Sequence[int], created_at: object) -> None:
    """Once the rows are in: the roots' counts, the mentions table, the files attached,
    the followers' markers."""
    id_of = {i: m for (i, _), m in zip(batch.placed, ids, strict=True)}
    if planned.roots:
        counts = [(r.id, r.reply_count, r.updated_seq) for r in planned.roots]
        await run(ROOT_COUNTS, (json_text(counts), created_at))
    rows = send_extras.mention_rows(batch, id_of)
    if rows:
        await run(MENTION_ROWS, (json_text(rows),))
    attached = send_extras.attached_rows(batch, id_of)
    if attached:
        await run(ATTACH, (json_text(attached),))
    if planned.created or planned.moved:
        markers = [(*key, seq) for key, seq in (planned.created | planned.moved).items()]
        await run(MARKERS, (json_text(markers), json_text([f"{u},{r},{root}" for u, r, root in planned.moved])))
