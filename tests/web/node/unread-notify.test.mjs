// Desktop notifications: a mention of the user or a direct message that arrives while the
// page is not looked at, unless turned off for that room; never for what was there before.

import assert from "node:assert/strict";
import { mock, test } from "node:test";

import { NotifyPrefs } from "../../../service/web/static/notify-prefs.js";
import { Notifier, READ_ELSEWHERE_MS, notification } from "../../../service/web/static/notify.js";
import { ChatState } from "../../../service/web/static/state.js";

const ME = { id: 1, username: "me" };
const ADA = { id: 2, username: "ada" };

const message = (room, seq, user, extra = {}) => ({
  type: "message", room, seq, updated_seq: seq, user, body: `m${seq}`, created_at: "2026-12-07T10:00:00Z",
  mentions: [], mentions_room: false, thread_seq: null, ...extra,
});

class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
}

test("mentions of the user and direct messages notify; others, the user's own and replies do not", () => {
  const state = new ChatState();
  state.reset(ME);
  const rooms = [
    { room: { id: 1, name: "lobby", kind: "public", last_seq: 0 }, last_read_seq: 0, unread: 0 },
    { room: { id: 2, name: "ada, me", kind: "direct", last_seq: 0 }, last_read_seq: 0, unread: 0 },
  ];
  state.setMyRooms(rooms, 0);
  const lobby = state.rooms.get(1);
  const direct = state.rooms.get(2);
  assert.deepEqual(notification(lobby, message(1, 1, ADA, { mentions: [ME.id], body: "hi @me" }), ME), {
    title: "ada in lobby", body: "hi @me", tag: "chat-room-1",
  });
  assert.equal(notification(lobby, message(1, 2, ADA, { mentions_room: true }), ME).title, "ada in lobby");
  assert.equal(notification(direct, message(2, 1, ADA), ME).title, "ada");
  assert.equal(notification(lobby, message(1, 3, ADA), ME), null);
  assert.equal(notification(direct, message(2, 2, ME), ME), null);
  assert.equal(notification(direct, message(2, 3, ADA, { thread_seq: 1 }), ME), null);
  assert.equal(notification(direct, message(2, 4, ADA, { deleted: true, body: null }), ME), null);
  const long = notification(direct, message(2, 5, ADA, { body: "x".repeat(500) }), ME);
  assert.ok(long.body.length <= 200);
});

test("a room turned off is kept per user and per room, and a broken entry turns nothing off", () => {
  const storage = new MemoryStorage();
  const prefs = new NotifyPrefs(storage);
  assert.equal(prefs.off(1, 10), false);
  prefs.set(1, 10, false);
  assert.equal(new NotifyPrefs(storage).off(1, 10), true);
  assert.equal(prefs.off(1, 11), false);
  assert.equal(prefs.off(2, 10), false, "another user of this browser");
  prefs.set(1, 10, true);
  assert.equal(prefs.off(1, 10), false);
  storage.setItem("chat.notify.off.1", "{not json");
  assert.equal(prefs.off(1, 10), false);
});

test("only what arrives live while the page is not looked at notifies, unless the room is off", () => {
  const shown = [];
  globalThis.Notification = class {
    static permission = "granted";
    constructor(title, options) {
      shown.push({ title, ...options });
    }
    close() {}
  };
  mock.timers.enable({ apis: ["setTimeout"] });
  let looking = false;
  globalThis.document = { get visibilityState() { return looking ? "visible" : "hidden"; }, hasFocus: () => looking };
  const state = new ChatState();
  state.reset(ME);
  const storage = new MemoryStorage();
  const prefs = new NotifyPrefs(storage);
  new Notifier(state, { open() {} }, prefs);
  state.setMyRooms([{ room: { id: 2, name: "ada, me", kind: "direct", last_seq: 1 }, last_read_seq: 0, unread: 1 }], 0);
  state.applyStream(2, [message(2, 1, ADA)]); // the replay: there before
  state.synced(2, { since: null, firstReplayed: 1, lastSeq: 1, truncated: false });
  assert.deepEqual(shown, []);
  state.applyStream(2, [message(2, 2, ADA, { body: "are you there?" })]);
  assert.deepEqual(shown, [], "not before the other tabs and devices had a moment to read it");
  mock.timers.tick(READ_ELSEWHERE_MS);
  assert.deepEqual(shown.map((n) => n.body), ["are you there?"]);
  looking = true;
  state.applyStream(2, [message(2, 3, ADA)]);
  mock.timers.tick(READ_ELSEWHERE_MS);
  looking = false;
  prefs.set(ME.id, 2, false);
  state.applyStream(2, [message(2, 4, ADA)]);
  mock.timers.tick(READ_ELSEWHERE_MS);
  prefs.set(ME.id, 2, true);
  state.applyStream(2, [message(2, 6, ADA)]);
  state.readMoved(2, 6); // read in another tab or on another device meanwhile
  mock.timers.tick(READ_ELSEWHERE_MS);
  Notification.permission = "default";
  state.applyStream(2, [message(2, 7, ADA)]);
  mock.timers.tick(READ_ELSEWHERE_MS);
  assert.equal(shown.length, 1);
  mock.timers.reset();
  delete globalThis.Notification;
  delete globalThis.document;
});
