"""Concurrent edits and deletes of the same messages, from several clients on two servers
sharing one database (two writers): seq stays gapless, and no edit outlives its delete."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import select

from service.messages.models import Message
from tests.realtime.conftest import Client, LiveServer, ServerFactory
from tests.streams import Frame, admin, delete, edit, events, last_seq, next_entry, post, replayed, said

MESSAGES = 6
DELETED = (1, 2, 3, 4)  # the others are only edited
EDITS_PER_MESSAGE = 8


async def _send_many(server: LiveServer, token: str, room: int, count: int) -> None:
    client = await server.connect(room, token)
    await replayed(client)
    for i in range(count):
        await said(client, f"meanwhile {i}", f"meanwhile-{i}")
    await client.close()


async def _read(client: Client, until: int) -> list[Frame]:
    _, replay, _ = await replayed(client)
    seen = list(replay)
    while not seen or seen[-1]["seq"] < until:
        seen.append(await next_entry(client))
    await client.close()
    return seen


async def test_concurrent_edits_and_deletes_keep_the_stream_gapless_and_consistent(
    make_server: ServerFactory,
) -> None:
    # No broker between the two (each is in-process): each learns of the other's
    # entries from the database, through the lost-publish sweep, here every second.
    a, b = await make_server(lost_publish_sweep_seconds=1), await make_server(lost_publish_sweep_seconds=1)
    _, alice = await a.user("alice")
    _, owner = await a.user("owner")
    _, carol = await a.user("carol")
    _, root = await admin(a, "root")
    room = (await a.room(owner, "busy"))["id"]
    await post(a, alice, room, *(f"original {i}" for i in range(1, MESSAGES + 1)))
    live = [await server.connect(room, carol, since=0) for server in (a, b)]
    jobs: list[tuple[str, int, Any]] = []
    for seq in range(1, MESSAGES + 1):
        for n in range(EDITS_PER_MESSAGE):
            server = (a, b)[n % 2]
            jobs.append(("edit", seq, edit(server, alice, room, seq, f"edit {n} of {seq}")))
            if seq in DELETED and n in (2, 5):
                who = (alice, owner, root)[n % 3]
                jobs.append(("delete", seq, delete((b, a)[n % 2], who, room, seq)))
    sending = asyncio.create_task(_send_many(b, carol, room, 20))
    answers: list[httpx.Response] = await asyncio.gather(*(job for _, _, job in jobs))
    await sending

    edited: Counter[int] = Counter()
    for (kind, seq, _), r in zip(jobs, answers, strict=True):
        if kind == "delete":
            assert r.status_code == 204, r.text
        else:
            assert r.status_code in (200, 409), r.text
            if r.status_code == 200:
                edited[seq] += 1
            else:
                assert seq in DELETED
    last = await last_seq(a, carol, room)
    async with a.state.engine.connect() as conn:
        seqs = (await conn.scalars(select(Message.seq).where(Message.room_id == room).order_by(Message.seq))).all()
    assert list(seqs) == list(range(1, last + 1))  # gapless: last_seq is the number of stream rows
    stream = await events(b, carol, room)
    assert [f["seq"] for f in stream] == list(range(1, last + 1))
    assert sum(f["type"] == "message" for f in stream) == MESSAGES + 20
    for seq in range(1, MESSAGES + 1):
        edits = [f for f in stream if f["type"] == "edit" and f["target_seq"] == seq]
        deletes = [f for f in stream if f["type"] == "delete" and f["target_seq"] == seq]
        message = stream[seq - 1]
        assert len(edits) == edited[seq], seq
        if seq in DELETED:
            (deleted,) = deletes  # once, however many asked
            assert all(e["seq"] < deleted["seq"] and e["body"] is None for e in edits), seq
            assert (message["body"], message["deleted"]) == (None, True)
        else:
            assert deletes == [] and len(edits) == EDITS_PER_MESSAGE
            assert (message["body"], message["edited_at"]) == (edits[-1]["body"], edits[-1]["edited_at"])
    # Sockets on both servers got the whole stream live, once, in order: what the other
    # server's writer stored, a room feed reads from the database.
    shape = [(f["type"], f["seq"], f.get("target_seq")) for f in stream]
    for client in live:
        seen = await _read(client, until=last)
        assert [(f["type"], f["seq"], f.get("target_seq")) for f in seen] == shape
    for server in (a, b):
        assert await _read(await server.connect(room, carol, since=0), until=last) == stream
