// What the views read from the state instead of working it out themselves: the sidebar's
// lists and the unread of the other rooms, who may manage a room, who is online and who
// is typing in the open room (rooms.js, state.js).
// Run: node --test tests/web/node

import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatState } from "../../../service/web/static/state.js";

const ANN = { id: 1, username: "ann", is_admin: false };
const BOB = { id: 2, username: "bob", is_admin: false };
const CYD = { id: 3, username: "cyd", is_admin: false };

function signedIn(me = ANN) {
  const state = new ChatState();
  state.reset(me);
  state.addMemberRooms([
    { id: 1, name: "team", private: true, kind: "room", owner_id: ANN.id, last_seq: 0 },
    { id: 2, name: "ann, bob", private: true, kind: "direct", owner_id: ANN.id, last_seq: 0 },
    { id: 3, name: "lobby", private: false, kind: "room", owner_id: BOB.id, last_seq: 0 },
  ]);
  state.roomCreated({ id: 4, name: "games", private: false, kind: "room", owner_id: BOB.id, last_seq: 0 });
  state.roomCreated({ id: 5, name: "art", private: false, kind: "room", owner_id: CYD.id, last_seq: 0 });
  return state;
}

test("the sidebar: rooms and conversations apart, the most recent first, others by name, unread of the rest", () => {
  const state = signedIn();
  const items = [
    { room: { id: 1, name: "team", private: true, kind: "room", owner_id: ANN.id, last_seq: 4 }, last_read_seq: 1, unread: 3 },
    { room: { id: 2, name: "ann, bob", private: true, kind: "direct", owner_id: ANN.id, last_seq: 2 }, last_read_seq: 0, unread: 2 },
    { room: { id: 3, name: "lobby", private: false, kind: "room", owner_id: BOB.id, last_seq: 9 }, last_read_seq: 9, unread: 0 },
  ];
  state.setMyRooms(items, state.generation); // the most recently active first
  state.open(1);
  const { rooms, direct, others, unreadElsewhere } = state.sidebar();
  assert.deepEqual(rooms.map((r) => r.room.name), ["team", "lobby"]);
  assert.deepEqual(direct.map((r) => r.room.name), ["ann, bob"]);
  assert.deepEqual(others.map((r) => r.room.name), ["art", "games"]);
  assert.equal(unreadElsewhere, 2, "the open room's unread are not elsewhere");
  state.open(3);
  assert.equal(state.sidebar().unreadElsewhere, 5);
});

test("a room is managed by its owner or an admin, a direct conversation by nobody", () => {
  const state = signedIn();
  assert.deepEqual([1, 2, 3, 4, 99].map((id) => state.manages(id)), [true, false, false, false, false]);
  state.setMe({ ...ANN, is_admin: true });
  assert.deepEqual([1, 2, 3, 4, 99].map((id) => state.manages(id)), [true, false, true, true, false]);
});

test("who is online in the open room by name; who is typing there only while the socket is live", () => {
  const state = signedIn();
  assert.deepEqual(state.onlineUsers(), []);
  assert.deepEqual(state.typingNames(), []);
  state.open(3);
  state.welcome(3, { id: 3 }, [CYD, ANN, BOB]);
  state.setConnection("live", "");
  assert.deepEqual(state.onlineUsers().map((u) => u.username), ["ann", "bob", "cyd"]);
  state.typing(3, CYD);
  state.typing(3, BOB);
  state.typing(1, ANN); // another room
  assert.deepEqual(state.typingNames(), ["bob", "cyd"]);
  state.setConnection("reconnecting", "");
  assert.deepEqual(state.typingNames(), []);
  state.reset(null); // clears the typing timers
});

test("a message's rights: edit your own; delete your own, or any as owner or admin; reply, react and pin as a member", () => {
  const mine = { seq: 1, user: ANN, thread_seq: null };
  const bobs = { seq: 2, user: BOB, thread_seq: null };
  const reply = { seq: 3, user: BOB, thread_seq: 2 };
  const state = signedIn();
  state.open(3); // lobby: bob's, ann a member
  assert.deepEqual(state.messageRights(mine), {
    own: true, canEdit: true, canDelete: true, canReply: true, canReact: true, canPin: true,
  });
  assert.deepEqual(state.messageRights(bobs), {
    own: false, canEdit: false, canDelete: false, canReply: true, canReact: true, canPin: true,
  });
  assert.equal(state.messageRights(reply).canReply, false, "a reply is not a thread's root");
  state.open(1); // team: ann's own room
  assert.equal(state.messageRights(bobs).canDelete, true, "the owner deletes any");
  assert.equal(state.messageRights(bobs).canEdit, false, "but edits only their own");
  const admin = signedIn({ ...CYD, is_admin: true });
  admin.open(4); // games: bob's, previewed, cyd not a member
  assert.deepEqual(admin.messageRights(bobs), {
    own: false, canEdit: false, canDelete: true, canReply: false, canReact: false, canPin: true,
  });
});
