// Where the "new messages" line goes: above the first message the user had not read when
// they opened the room, kept there while they read on, gone on the next visit.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatState } from "../../../service/web/static/state.js";
import { UnreadLine, firstUnread } from "../../../service/web/static/unread-line.js";

const ME = { id: 1, username: "me" };
const ADA = { id: 2, username: "ada" };
const ROOM = 10;
const OTHER = 11;

const message = (seq, user, extra = {}) => ({
  type: "message", room: ROOM, seq, updated_seq: seq, user, body: `m${seq}`, created_at: "2026-12-07T10:00:00Z",
  mentions: [], mentions_room: false, thread_seq: null, ...extra,
});

/** A room of `count` messages by Ada (seq 1..count), read up to `read`, live and held. */
function chat(count, read) {
  const state = new ChatState();
  state.reset(ME);
  const room = (id) => ({ room: { id, name: `r${id}`, last_seq: count }, last_read_seq: read, unread: count - read, mentions: 0 });
  state.setMyRooms([room(ROOM), room(OTHER)], 0);
  for (const id of [ROOM, OTHER]) {
    state.applyStream(id, Array.from({ length: count }, (_, i) => ({ ...message(i + 1, ADA), room: id })));
    state.synced(id, { since: null, firstReplayed: 1, lastSeq: count, truncated: false });
  }
  return state;
}

test("the first unread message is the first held above the marker that counts: not the user's, not deleted", () => {
  const state = chat(0, 0);
  state.applyStream(ROOM, [message(1, ADA), message(2, ME), message(3, ADA, { deleted: true, body: null }), message(4, ADA)]);
  const room = state.rooms.get(ROOM);
  assert.equal(firstUnread(room, 0), 1);
  assert.equal(firstUnread(room, 1), 4);
  assert.equal(firstUnread(room, 4), null);
});

test("the line is where the marker was when the room was opened, and stays while the marker moves on", () => {
  const state = chat(30, 5);
  const line = new UnreadLine(state);
  const told = [];
  state.onChange((what, roomId) => what === "unread-line" && told.push(roomId));
  state.open(ROOM);
  line.capture(ROOM);
  assert.deepEqual(told, [ROOM]);
  assert.equal(line.seq(state.current), 6);
  state.markSeen(ROOM); // read now
  line.capture(ROOM); // once a visit
  state.applyStream(ROOM, [message(31, ADA)]);
  assert.equal(line.seq(state.current), 6);
  assert.equal(line.seq(state.rooms.get(OTHER)), null, "only in the room of the visit");
});

test("a room with nothing unread has no line, even for messages that come while it is open", () => {
  const state = chat(3, 3);
  const line = new UnreadLine(state);
  state.open(ROOM);
  line.capture(ROOM);
  state.applyStream(ROOM, [message(4, ADA)]);
  assert.equal(line.seq(state.current), null);
});

test("the line waits until the room is live and its marker known; the next visit starts afresh", () => {
  const state = new ChatState();
  state.reset(ME);
  const line = new UnreadLine(state);
  state.setMyRooms([{ room: { id: ROOM, name: "r", last_seq: 4 }, last_read_seq: 2, unread: 2, mentions: 0 }], 0);
  state.open(ROOM);
  line.capture(ROOM); // not live yet: nothing is known
  state.applyStream(ROOM, [1, 2, 3, 4].map((seq) => message(seq, ADA)));
  state.synced(ROOM, { since: null, firstReplayed: 1, lastSeq: 4, truncated: false });
  line.capture(ROOM);
  assert.equal(line.seq(state.current), 3);
  state.markSeen(ROOM);
  state.open(null);
  state.open(ROOM);
  line.capture(ROOM);
  assert.equal(line.seq(state.current), null, "read on the last visit");
});

test("back to the page after messages came while away, the line moves above the first of them", () => {
  const state = chat(3, 3);
  const line = new UnreadLine(state);
  state.open(ROOM);
  line.capture(ROOM);
  state.applyStream(ROOM, [message(4, ADA)]); // seen as it comes
  line.capture(ROOM);
  state.markSeen(ROOM);
  assert.equal(line.seq(state.current), null);
  state.applyStream(ROOM, [message(5, ADA), message(6, ADA)]); // while away: unread
  line.capture(ROOM); // not back yet: nothing moves
  assert.equal(line.seq(state.current), null);
  line.capture(ROOM, true);
  assert.equal(line.seq(state.current), 5);
  state.markSeen(ROOM);
  line.capture(ROOM, true); // back again, nothing new: the line stays
  assert.equal(line.seq(state.current), 5);
});
