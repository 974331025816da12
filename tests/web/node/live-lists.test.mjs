// Lists kept live from the socket's frames (docs/protocol.md): a public room another
// user made, and a room's members joining and leaving.
// Run: node --test tests/web/node

import assert from "node:assert/strict";
import { test } from "node:test";

import { RoomsState } from "../../../service/web/static/rooms.js";

const ME = { id: 1, username: "ann" };
const BOB = { id: 2, username: "bob" };
const CY = { id: 3, username: "cy" };

function rooms() {
  const state = new RoomsState();
  state.reset(ME);
  return state;
}

test("a public room made by another user is listed to join, once; a private one is not", () => {
  const state = rooms();
  const told = [];
  state.onChange((what) => told.push(what));
  state.roomCreated({ id: 7, name: "lobby", private: false, owner_id: BOB.id, last_seq: 0 });
  state.roomCreated({ id: 7, name: "lobby", private: false, owner_id: BOB.id, last_seq: 0 });
  state.roomCreated({ id: 8, name: "secret", private: true, owner_id: BOB.id, last_seq: 0 });
  assert.deepEqual(state.otherRooms().map((r) => r.room.name), ["lobby"]);
  assert.deepEqual(state.memberRooms(), []);
  assert.deepEqual(told, ["rooms"]);
});

test("members join and leave a loaded list in name order; a list not loaded stays unloaded", () => {
  const state = rooms();
  state.addMemberRooms([{ id: 5, name: "team", private: false, last_seq: 0 }, { id: 6, name: "other", last_seq: 0 }]);
  const room = state.rooms.get(5);
  room.members = [ME];
  state.memberAdded(5, CY);
  state.memberAdded(5, BOB);
  state.memberAdded(5, BOB); // told twice (a join seen from two sides): listed once
  assert.deepEqual(room.members.map((u) => u.username), ["ann", "bob", "cy"]);
  state.memberRemoved(5, BOB.id);
  state.memberRemoved(5, 99);
  assert.deepEqual(room.members.map((u) => u.username), ["ann", "cy"]);
  state.memberAdded(6, BOB);
  assert.equal(state.rooms.get(6).members ?? null, null); // read when the room is opened
  state.memberAdded(42, BOB); // a room this page does not hold: nothing
});

test("a room renamed or described anew shows where it is held; a public one not held is listed", () => {
  const state = rooms();
  state.addMemberRooms([{ id: 5, name: "team", description: "", private: true, last_seq: 3 }]);
  state.roomCreated({ id: 7, name: "lobby", description: "", private: false, owner_id: BOB.id, last_seq: 0 });
  const told = [];
  state.onChange((what, roomId) => told.push([what, roomId]));
  state.roomUpdated({ id: 5, name: "crew", description: "plans", private: true, last_seq: 3 });
  state.roomUpdated({ id: 7, name: "hall", description: "all of us", private: false, owner_id: BOB.id, last_seq: 0 });
  assert.deepEqual(state.memberRooms().map((r) => [r.room.name, r.room.description]), [["crew", "plans"]]);
  assert.deepEqual(state.otherRooms().map((r) => [r.room.name, r.room.description]), [["hall", "all of us"]]);
  assert.deepEqual(told, [["rooms", null], ["room", 5], ["rooms", null], ["room", 7]]);
  // A public room this page had not heard of is listed to join; a private one stays unknown.
  state.roomUpdated({ id: 9, name: "new", description: "", private: false, owner_id: BOB.id, last_seq: 0 });
  state.roomUpdated({ id: 10, name: "secret", description: "", private: true, owner_id: BOB.id, last_seq: 0 });
  assert.deepEqual(state.otherRooms().map((r) => r.room.name), ["hall", "new"]);
  assert.equal(state.rooms.has(10), false);
});
