// Details of the log that need no browser: avatars' initials and colours, and the labels
// of day separators and full dates.

import assert from "node:assert/strict";
import { test } from "node:test";

import { AVATAR_COLOURS, colourOf, initials } from "../../../service/web/static/avatar.js";
import { dayKey, dayLabel, fullDate, isoDay } from "../../../service/web/static/dates.js";

test("initials are the first two letters, or the first of two words, upper case", () => {
  assert.equal(initials("ann"), "AN");
  assert.equal(initials("a"), "A");
  assert.equal(initials("mary.jones"), "MJ");
  assert.equal(initials("bob_smith"), "BS");
  assert.equal(initials("x-y"), "XY");
  assert.equal(initials(""), "?");
  assert.equal(initials("émile"), "ÉM");
});

test("a user's colour comes from their id: always the same, spread over the palette", () => {
  assert.equal(colourOf(42), colourOf(42));
  const seen = new Set();
  for (let id = 1; id <= 200; id += 1) {
    const colour = colourOf(id);
    assert.ok(Number.isInteger(colour) && colour >= 0 && colour < AVATAR_COLOURS);
    seen.add(colour);
  }
  assert.equal(seen.size, AVATAR_COLOURS);
  assert.notEqual(colourOf(1), colourOf(2)); // neighbours differ
});

test("a day's label says Today or Yesterday and always the date", () => {
  const now = new Date(2026, 11, 7, 10, 30);
  const today = dayLabel(new Date(2026, 11, 7, 0, 5), now);
  assert.match(today, /^Today · /);
  assert.match(today, /7/);
  const yesterday = dayLabel(new Date(2026, 11, 6, 23, 59), now);
  assert.match(yesterday, /^Yesterday · /);
  assert.match(yesterday, /6/);
  const older = dayLabel(new Date(2026, 10, 30, 12), now);
  assert.doesNotMatch(older, /Today|Yesterday|·/);
  assert.doesNotMatch(older, /2026/); // this year's dates need no year
  assert.match(dayLabel(new Date(2025, 11, 31, 12), now), /2025/);
  // Across a new year, the 31st is still yesterday.
  assert.match(dayLabel(new Date(2025, 11, 31, 12), new Date(2026, 0, 1, 9)), /^Yesterday · .*2025/);
});

test("days are keyed and dated in local time; the full date has the year and the time", () => {
  assert.equal(isoDay(new Date(2026, 0, 5, 23, 59)), "2026-01-05");
  assert.equal(dayKey(new Date(2026, 0, 5, 1)), dayKey(new Date(2026, 0, 5, 23)));
  assert.notEqual(dayKey(new Date(2026, 0, 5, 23)), dayKey(new Date(2026, 0, 6, 0)));
  const full = fullDate(new Date(2026, 0, 5, 14, 7));
  assert.match(full, /2026/);
  assert.match(full, /5/);
  assert.match(full, /07/);
});
