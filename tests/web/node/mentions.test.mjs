// Mentions in the client: found in a body as the server finds them, and completed while typing.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  completeMention,
  mentionAt,
  mentionCandidates,
  mentionKinds,
  mentionRuns,
} from "../../../service/web/static/mentions.js";

const names = new Map([
  [1, "ann"],
  [2, "Bob"],
  [3, "bob.smith"],
]);

function shown(body, message, me = 1) {
  return mentionRuns(body, mentionKinds(message, names, me)).map((r) => (r.mention ? `[${r.mention}:${r.text}]` : r.text));
}

test("only the names the message mentions are marked, the user's own apart", () => {
  const message = { mentions: [1, 2], mentions_room: false };
  assert.deepEqual(shown("hi @ann and @BOB, not @cy", message), ["hi ", "[me:@ann]", " and ", "[other:@BOB]", ", not @cy"]);
  assert.deepEqual(shown("@ann", message), ["[me:@ann]"]);
});

test("a mention starts after a character no username has, and ends where they end", () => {
  const message = { mentions: [2, 3], mentions_room: true };
  assert.deepEqual(shown("mail bob@bob.com", message), ["mail bob@bob.com"]);
  assert.deepEqual(shown("(@bob.smith) @room!", message), ["(", "[other:@bob.smith]", ") ", "[room:@room]", "!"]);
  // "@bob." at a sentence's end names bob: the trailing dot is not part of the name.
  assert.deepEqual(shown("thanks @bob.", message), ["thanks ", "[other:@bob]", "."]);
});

test("@room is marked only when the message says it mentions the room", () => {
  assert.deepEqual(shown("@room hello", { mentions: [] }), ["@room hello"]);
});

test("the mention being typed is found at the caret", () => {
  assert.deepEqual(mentionAt("hello @bo", 9), { start: 6, query: "bo" });
  assert.deepEqual(mentionAt("@", 1), { start: 0, query: "" });
  assert.equal(mentionAt("mail a@b", 8), null);
  assert.equal(mentionAt("hello bo", 8), null);
  assert.deepEqual(mentionAt("@ann hi @b", 10), { start: 8, query: "b" });
});

test("candidates are members by name prefix, then @room, never the user", () => {
  const members = [...names].map(([id, username]) => ({ id, username }));
  assert.deepEqual(mentionCandidates(members, "b", 1), ["Bob", "bob.smith"]);
  assert.deepEqual(mentionCandidates(members, "", 1), ["Bob", "bob.smith", "room"]);
  assert.deepEqual(mentionCandidates(members, "r", 1), ["room"]);
  assert.deepEqual(mentionCandidates(members, "an", 1), []);
});

test("completing replaces the partial name and leaves one space after it", () => {
  const found = mentionAt("hi @bo there", 6);
  assert.deepEqual(completeMention("hi @bo there", found, 6, "Bob"), { value: "hi @Bob there", caret: 8 });
  assert.deepEqual(completeMention("@", { start: 0, query: "" }, 1, "ann"), { value: "@ann ", caret: 5 });
});
