// The convergence rule (guarantee 10) in the client's state: whatever order replay, REST
// pages and live frames arrive in, every message held ends exactly as on the server.
// Run: node --test tests/web/node

import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatState } from "../../../service/web/static/state.js";
import { ServerRoom, USERS, random, randomRoom } from "./server-model.mjs";

const [ANN, BOB, CY] = USERS;

function client(room, me = ANN) {
  const state = new ChatState();
  state.reset(me);
  state.addMemberRooms([{ id: room.roomId, name: "r", private: false, kind: "room", last_seq: 0 }]);
  return state;
}

/** What the server holds for a message, in the shape the client keeps. */
function expected(message) {
  return { ...structuredClone(message), reactions: message.reactions ?? [], mentions: message.mentions ?? [] };
}

/** Every message the client holds is as the server's, and nothing the stream brought is missing. */
function assertConverged(state, room, cursor, label) {
  const held = state.rooms.get(room.roomId);
  for (const [seq, message] of held.messages) {
    assert.deepEqual(message, expected(room.messages.get(seq)), `${label}: message ${seq}`);
  }
  for (const message of room.messages.values()) {
    if (message.seq > cursor) assert.ok(held.messages.has(message.seq), `${label}: message ${message.seq} held`);
    if (message.seq > cursor && message.thread_seq === null) assert.ok(held.inLog(message.seq), `${label}: in the log`);
  }
  assert.deepEqual(held.seqs, [...held.seqs].sort((a, b) => a - b), `${label}: the log in seq order`);
  for (const [root, seqs] of held.threads) {
    for (const seq of seqs) assert.equal(held.messages.get(seq).thread_seq, root, `${label}: reply ${seq}`);
  }
}

/**
 * What one client receives, in one random order: from `cursor` on, the stream over a few
 * connections (each a replay in the state of its moment, then live frames), and REST
 * pages (history, a thread, the pins) each taken at a moment at or after the cursor and
 * arriving at any point among the frames.
 */
function schedule(room, rand) {
  const last = room.lastSeq;
  const cursor = Math.floor(rand() * last);
  const frames = [];
  let delivered = cursor;
  while (delivered < last) {
    const replayAt = delivered + 1 + Math.floor(rand() * (last - delivered)); // the server's last seq then
    for (let seq = delivered + 1; seq <= replayAt; seq += 1) frames.push(room.frame(seq, replayAt));
    const liveTo = replayAt + Math.floor(rand() * (last - replayAt + 1)); // then a disconnect
    for (let seq = replayAt + 1; seq <= liveTo; seq += 1) frames.push(room.frame(seq));
    delivered = liveTo;
  }
  const events = frames.map((frame) => ({ frame }));
  const roots = [...room.messages.values()].filter((m) => m.thread_seq === null);
  for (let n = 0; n < 4; n += 1) {
    const time = cursor + Math.floor(rand() * (last - cursor + 1));
    const kind = Math.floor(rand() * 3);
    let rest;
    if (kind === 0) rest = { history: room.history(time) };
    else if (kind === 1) rest = { pins: room.pins(time) };
    else {
      const root = roots[Math.floor(rand() * roots.length)].seq;
      rest = room.states[time].has(root) ? { thread: room.thread(time, root) } : { history: room.history(time) };
    }
    events.splice(Math.floor(rand() * (events.length + 1)), 0, rest);
  }
  return { cursor, events };
}

function deliver(state, roomId, events) {
  for (const event of events) {
    if (event.frame) state.applyStream(roomId, [event.frame]);
    else if (event.history) state.addMessages(roomId, event.history);
    else if (event.pins) state.setPins(roomId, event.pins);
    else state.addThread(roomId, event.thread, true);
  }
}

test("random orders of replay, REST pages and live frames end in the server's state", () => {
  for (let seed = 1; seed <= 300; seed += 1) {
    const rand = random(seed);
    const room = randomRoom(rand, 25 + Math.floor(rand() * 40));
    // Two clients of the same room, each with its own order: both end as the server.
    for (const who of ["first", "second"]) {
      const { cursor, events } = schedule(room, rand);
      const state = client(room);
      deliver(state, room.roomId, events);
      assertConverged(state, room, cursor, `seed ${seed}, ${who} client`);
    }
  }
});

test("an entry at or below a message's updated_seq changes nothing", () => {
  const room = new ServerRoom();
  const root = room.send(ANN); // 1
  room.react(root, BOB, "👍", "add"); // 2
  room.react(root, CY, "👍", "add"); // 3
  const state = client(room);
  state.addMessages(room.roomId, room.history(3)); // count 2, updated_seq 3
  state.applyStream(room.roomId, [room.frame(2), room.frame(3)]); // the same reactions again, counted once
  const held = state.rooms.get(room.roomId).messages.get(root);
  assert.deepEqual(held.reactions, [{ emoji: "👍", count: 2, user_ids: [BOB.id, CY.id] }]);
  assert.equal(held.updated_seq, 3);
});

test("an older REST object does not replace a newer state; a newer one does", () => {
  const room = new ServerRoom();
  const seq = room.send(ANN); // 1
  const stale = room.history(1);
  room.edit(seq); // 2
  const state = client(room);
  state.applyStream(room.roomId, [room.frame(1, 2), room.frame(2)]);
  state.addMessages(room.roomId, stale); // asked before the edit, answered after it
  assert.equal(state.rooms.get(room.roomId).messages.get(seq).body, "edited at 2");
  room.pin(seq, BOB, "add"); // 3
  state.addMessages(room.roomId, room.history(3), { log: true });
  assert.equal(state.rooms.get(room.roomId).messages.get(seq).pinned, true);
});

test("reply counts are set from the root's counts, never added", () => {
  const room = new ServerRoom();
  const root = room.send(ANN); // 1
  room.send(BOB, { thread: root }); // 2
  room.send(CY, { thread: root }); // 3
  const state = client(room);
  const roomId = room.roomId;
  state.addThread(roomId, room.thread(3, root), true); // the root says 2 replies
  state.applyStream(roomId, [room.frame(1, 3), room.frame(2, 3), room.frame(3, 3)]); // replayed: nothing more
  const held = state.rooms.get(roomId);
  assert.equal(held.messages.get(root).reply_count, 2);
  assert.deepEqual(held.replies(root).map((m) => m.seq), [2, 3]);
  room.delete(2, BOB); // 4: the delete carries the root's counts after it
  state.applyStream(roomId, [room.frame(4)]);
  assert.equal(held.messages.get(root).reply_count, 1);
  assert.equal(held.messages.get(root).last_reply_at, room.messages.get(3).created_at);
  assert.equal(held.messages.get(2).deleted, true);
  // Replies are not part of the log, and never count as unread.
  assert.deepEqual(held.seqs, [1]);
});

test("entries of a message not held wait for it, and apply when newer than its state", () => {
  const room = new ServerRoom();
  const seq = room.send(ANN); // 1
  const before = room.history(1); // asked now, answered after the entries below
  room.react(seq, BOB, "🎉", "add"); // 2
  room.pin(seq, CY, "add"); // 3
  room.edit(seq); // 4
  const state = client(room);
  state.applyStream(room.roomId, [room.frame(2), room.frame(3), room.frame(4)]);
  state.addMessages(room.roomId, before);
  assert.deepEqual(state.rooms.get(room.roomId).messages.get(seq), expected(room.messages.get(seq)));
});

test("the pinned list: most recently pinned first, pins made since above the page, unpinned gone", () => {
  const room = new ServerRoom();
  for (let n = 0; n < 3; n += 1) room.send(ANN); // 1, 2, 3
  room.pin(2, ANN, "add"); // 4
  room.pin(1, ANN, "add"); // 5
  const state = client(room);
  const roomId = room.roomId;
  state.applyStream(roomId, [1, 2, 3, 4, 5].map((seq) => room.frame(seq)));
  state.setPins(roomId, room.pins(5));
  const held = state.rooms.get(roomId);
  assert.deepEqual(held.pinned().map((m) => m.seq), [1, 2]);
  room.pin(3, BOB, "add"); // 6
  room.pin(1, BOB, "remove"); // 7
  room.delete(2, ANN); // 8: a delete unpins
  state.applyStream(roomId, [6, 7, 8].map((seq) => room.frame(seq)));
  assert.deepEqual(held.pinned().map((m) => m.seq), [3]);
});

test("mentions of the user among the unread count apart, replies and the user's own never", () => {
  const room = new ServerRoom();
  room.send(BOB, { mentions: [ANN.id] }); // 1
  room.send(BOB); // 2
  const state = client(room);
  const roomId = room.roomId;
  state.setMyRooms([{ room: { id: roomId, name: "r", last_seq: 2 }, last_read_seq: 0, unread: 2, mentions: 1 }], 0);
  const held = state.rooms.get(roomId);
  assert.equal(held.unread, 2);
  assert.equal(held.mentions, 1);
  room.send(CY, { mentionsRoom: true }); // 3: @room
  room.send(CY, { thread: 1, mentions: [ANN.id] }); // 4: a reply: the thread's, not the room's
  room.send(ANN, { mentions: [ANN.id] }); // 5: the user's own: reads the room up to it
  state.applyStream(roomId, [room.frame(3), room.frame(4)]);
  assert.equal(held.unread, 3);
  assert.equal(held.mentions, 2);
  room.edit(3); // 6: the edit drops @room
  state.applyStream(roomId, [room.frame(6)]);
  assert.equal(held.mentions, 1);
  state.applyStream(roomId, [room.frame(5)]);
  assert.equal(held.unread, 0);
  assert.equal(held.mentions, 0);
});
