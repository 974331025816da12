// A message's files in the client's state: kept through edits and reactions, gone with a delete,
// whichever way the message arrives.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatState } from "../../../service/web/static/state.js";

const ANN = { id: 1, username: "ann" };
const FILE = { id: "9", filename: "plan.pdf", url: "/api/v1/files/9/content", thumbnail_url: null, size: 40 };

function room() {
  const state = new ChatState();
  state.reset(ANN);
  state.addMemberRooms([{ id: 5, name: "r", private: false, kind: "room", last_seq: 0 }]);
  return state;
}

const message = (seq, extra = {}) => ({
  type: "message",
  room: 5,
  seq,
  user: ANN,
  body: "",
  created_at: "2026-01-01T00:00:00Z",
  thread_seq: null,
  files: [FILE],
  ...extra,
});

test("an edit and a reaction keep the files; a delete takes them", () => {
  const state = room();
  state.applyStream(5, [
    message(1),
    { type: "edit", room: 5, seq: 2, target_seq: 1, body: "the plan", edited_at: "2026-01-01T00:01:00Z" },
    { type: "reaction", room: 5, seq: 3, target_seq: 1, emoji: "👍", op: "add", user: ANN, count: 1 },
  ]);
  const held = state.rooms.get(5).messages.get(1);
  assert.deepEqual(held.files, [FILE]);
  assert.equal(held.body, "the plan");
  state.applyStream(5, [{ type: "delete", room: 5, seq: 4, target_seq: 1 }]);
  assert.deepEqual(state.rooms.get(5).messages.get(1).files, []);
});

test("an older copy from a page does not bring deleted files back", () => {
  const state = room();
  state.applyStream(5, [message(1), { type: "delete", room: 5, seq: 2, target_seq: 1 }]);
  const { type: _type, room: _room, ...stale } = message(1, { updated_seq: 1 });
  state.addMessages(5, [stale]);
  assert.deepEqual(state.rooms.get(5).messages.get(1).files, []);
  assert.equal(state.rooms.get(5).messages.get(1).deleted, true);
});
