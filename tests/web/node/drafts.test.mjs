// Drafts: what the user was writing in each room, kept while they switch rooms and, in the
// tab's sessionStorage, across a reload; one user's drafts are never another's.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Drafts } from "../../../service/web/static/drafts.js";

class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  getItem(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }
  setItem(key, value) {
    this.map.set(key, String(value));
  }
  removeItem(key) {
    this.map.delete(key);
  }
}

test("a draft per room, an empty one forgotten", () => {
  const drafts = new Drafts(new MemoryStorage(), 7);
  assert.equal(drafts.get(1), "");
  drafts.set(1, "half a thought");
  drafts.set(2, "line one\nline two");
  assert.equal(drafts.get(1), "half a thought");
  assert.equal(drafts.get(2), "line one\nline two");
  drafts.set(1, "");
  assert.equal(drafts.get(1), "");
  assert.equal(drafts.get(2), "line one\nline two");
});

test("drafts outlive a reload of the tab, per user", () => {
  const storage = new MemoryStorage();
  new Drafts(storage, 7).set(3, "kept");
  assert.equal(new Drafts(storage, 7).get(3), "kept");
  assert.equal(new Drafts(storage, 8).get(3), "");
});

test("clearing forgets every draft of the user, here and in storage", () => {
  const storage = new MemoryStorage();
  const drafts = new Drafts(storage, 7);
  drafts.set(3, "gone");
  drafts.clear();
  assert.equal(drafts.get(3), "");
  assert.equal(new Drafts(storage, 7).get(3), "");
});

test("storage that is broken, full or absent loses nothing in the tab", () => {
  const broken = new MemoryStorage();
  broken.setItem("chat.drafts.7", "{not json");
  assert.equal(new Drafts(broken, 7).get(1), "");
  broken.setItem("chat.drafts.7", JSON.stringify({ 1: 42, 2: "ok" }));
  assert.equal(new Drafts(broken, 7).get(1), "");
  assert.equal(new Drafts(broken, 7).get(2), "ok");
  const full = new MemoryStorage();
  full.setItem = () => {
    throw new Error("QuotaExceededError");
  };
  const drafts = new Drafts(full, 7);
  drafts.set(1, "still here");
  assert.equal(drafts.get(1), "still here");
  const none = new Drafts(null, 7);
  none.set(1, "in memory");
  assert.equal(none.get(1), "in memory");
});
