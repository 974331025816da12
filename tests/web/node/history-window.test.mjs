// A window of older history opened at one message (a search result, the first unread far
// back): the hole between it and the messages held below is paged until they meet, and a
// page for a hole that changed meanwhile is not taken (room-state.js, jump.js).
// Run: node --test tests/web/node

import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatState } from "../../../service/web/static/state.js";

const ANN = { id: 1, username: "ann" };
const BOB = { id: 2, username: "bob" };
const ROOM = { id: 7, name: "lobby", private: false, kind: "room", last_seq: 1000 };

const message = (seq) => ({
  id: 5000 + seq, room_id: ROOM.id, seq, user: BOB, body: `m${seq}`, client_msg_id: null,
  created_at: "2026-01-01T00:00:00Z", edited_at: null, deleted: false, thread_seq: null, updated_seq: seq,
});
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => message(from + i));
const page = (from, to, hasMore) => ({ items: range(from, to), has_more: hasMore });

function held() {
  const state = new ChatState();
  state.reset(ANN);
  state.addMemberRooms([ROOM]);
  state.addMessages(ROOM.id, range(901, 1000)); // what the replay held
  return { state, room: state.rooms.get(ROOM.id) };
}

test("a window far back leaves a hole to the messages below, paged from its bottom until they meet", () => {
  const { state, room } = held();
  const after = page(300, 324, true);
  room.openWindow(300, after);
  state.addMessages(ROOM.id, [...range(275, 299), ...after.items]);
  assert.deepEqual(room.hole, { after: 324, before: 901 });
  let hole = room.hole;
  const first = page(325, 424, true);
  assert.equal(room.holePaged(hole, first), true);
  state.addMessages(ROOM.id, first.items);
  assert.deepEqual(room.hole, { after: 424, before: 901 });
  assert.equal(room.holePaged(hole, page(325, 424, true)), false, "a page of a hole paged meanwhile is not taken");
  // The server has more after each page (the messages above the hole): the hole closes
  // when a page reaches its bottom.
  for (let pages = 0; (hole = room.hole); pages += 1) {
    assert.ok(pages < 10, "the hole closes once paged to its bottom");
    const next = page(hole.after + 1, Math.min(hole.after + 100, 900), true);
    assert.equal(room.holePaged(hole, next), true);
    state.addMessages(ROOM.id, next.items);
  }
  assert.deepEqual(room.seqs, range(275, 1000).map((m) => m.seq));
});

test("a window that reaches what is held leaves no hole; another window further back drops the first", () => {
  const { state, room } = held();
  const near = page(880, 900, false);
  room.openWindow(880, near);
  state.addMessages(ROOM.id, near.items);
  assert.equal(room.hole, null);
  const after = page(300, 324, true);
  room.openWindow(300, after);
  state.addMessages(ROOM.id, after.items);
  const again = page(100, 124, true);
  room.openWindow(100, again); // below the first window: it leaves the log
  state.addMessages(ROOM.id, again.items);
  assert.deepEqual(room.hole, { after: 124, before: 880 });
  assert.deepEqual(room.seqs, [...range(100, 124), ...range(880, 1000)].map((m) => m.seq));
});
