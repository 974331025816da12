// Missed messages a truncated replay skipped (missed.js): a window that could not be
// paged is kept as the room's problem, joined with later ones, asked again, and cleared
// once it goes through; a signed-out failure is no problem of the room.
// Run: node --test tests/web/node

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, SignedOut } from "../../../service/web/static/api.js";
import { MissedPages } from "../../../service/web/static/missed.js";

/** pageGap fails with `failures` in turn (null: succeeds), and records what it was asked. */
function pager(...failures) {
  const asked = [];
  return {
    asked,
    async pageGap(roomId, after, before) {
      asked.push([roomId, after, before]);
      const failure = failures.shift();
      if (failure) throw failure;
    },
  };
}

test("a window that fails is the room's problem until a retry pages it", async () => {
  const actions = pager(new ApiError(500, "storage is down"), null);
  const missed = new MissedPages(actions);
  let told = 0;
  missed.onChange(() => (told += 1));
  await missed.page(7, 3, 10);
  assert.equal(missed.problem(7), "Missed messages could not be loaded: storage is down");
  assert.equal(missed.problem(8), "");
  assert.equal(told, 1);
  await missed.retryAll();
  assert.deepEqual(actions.asked, [[7, 3, 10], [7, 3, 10]]);
  assert.equal(missed.problem(7), "");
  assert.equal(told, 2);
});

test("a later window of the room is paged with the one that failed", async () => {
  const actions = pager(new TypeError("offline"), new TypeError("offline"), null);
  const missed = new MissedPages(actions);
  await missed.page(7, 3, 10);
  await missed.page(7, 12, 20);
  assert.match(missed.problem(7), /^Missed messages could not be loaded: the server cannot be reached/);
  await missed.retry(7);
  assert.deepEqual(actions.asked.at(-1), [7, 3, 20]);
  assert.equal(missed.problem(7), "");
  await missed.retry(7); // nothing left to ask
  assert.equal(actions.asked.length, 3);
});

test("a page refused because the login ended is not shown as the room's problem", async () => {
  const missed = new MissedPages(pager(new SignedOut("token revoked")));
  await missed.page(7, 3, 10);
  assert.equal(missed.problem(7), "");
});
