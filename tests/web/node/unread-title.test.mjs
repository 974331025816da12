// The tab's title and icon tell how much is unread in the user's rooms, and how many of
// those messages mention them.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatState } from "../../../service/web/static/state.js";
import { badgedTitle, iconFor, unreadTotals } from "../../../service/web/static/title-badge.js";

const ME = { id: 1, username: "me" };

test("the totals add up the user's rooms, direct conversations included, and no room merely previewed", () => {
  const state = new ChatState();
  state.reset(ME);
  const item = (id, unread, mentions, kind = "public") => ({
    room: { id, name: `r${id}`, kind, last_seq: 9 }, last_read_seq: 9 - unread, unread, mentions,
  });
  state.setMyRooms([item(1, 3, 1), item(2, 0, 0), item(3, 2, 0, "direct")], 0);
  state.addOtherRoom({ id: 4, name: "public", last_seq: 50 });
  assert.deepEqual(unreadTotals(state.rooms.values()), { unread: 5, mentions: 1 });
});

test("the title leads with the count, and mentions apart; nothing unread, nothing added", () => {
  assert.equal(badgedTitle("Chat: lobby", { unread: 3, mentions: 0 }), "(3) Chat: lobby");
  assert.equal(badgedTitle("(3) Chat: lobby", { unread: 2, mentions: 1 }), "(2, @1) Chat: lobby");
  assert.equal(badgedTitle("(2, @1) Chat: lobby", { unread: 0, mentions: 0 }), "Chat: lobby");
  assert.equal(badgedTitle("(not a count) Chat", { unread: 0, mentions: 0 }), "(not a count) Chat");
});

test("the icon shows a dot while anything is unread", () => {
  assert.equal(iconFor({ unread: 0, mentions: 0 }), "favicon.svg");
  assert.equal(iconFor({ unread: 1, mentions: 0 }), "favicon-unread.svg");
});
