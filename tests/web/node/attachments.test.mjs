// The composer's files: uploads in progress, done or failed, removable, at most 10 a message,
// and sending only once every one is uploaded.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Attachments, MAX_FILES, uploadFailure } from "../../../service/web/static/attachments.js";
import { humanSize } from "../../../service/web/static/file-size.js";

const chosen = (n, prefix = "f") => Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}.txt`, size: 100 + i }));
const stored = (id) => ({ id, filename: `${id}.txt`, url: `/api/v1/files/${id}/content` });

test("files chosen are uploading, with their progress, until each is uploaded", () => {
  const files = new Attachments();
  const { added, refused } = files.add(chosen(2));
  assert.equal(refused, 0);
  assert.deepEqual(
    added.map((item) => [item.name, item.size, item.state, item.progress]),
    [
      ["f0.txt", 100, "uploading", 0],
      ["f1.txt", 101, "uploading", 0],
    ],
  );
  files.progress(added[0].key, 0.5);
  assert.equal(files.items[0].progress, 0.5);
  files.progress(added[0].key, 7); // never above whole
  assert.equal(files.items[0].progress, 1);
  files.uploaded(added[0].key, stored("a"));
  assert.equal(files.items[0].state, "uploaded");
  assert.equal(files.items[0].progress, 1);
  assert.equal(files.uploading, true);
  files.uploaded(added[1].key, stored("b"));
  assert.equal(files.uploading, false);
});

test("at most 10 files a message: the rest are refused and counted", () => {
  const files = new Attachments();
  assert.equal(files.add(chosen(8)).refused, 0);
  const { added, refused } = files.add(chosen(5, "g"));
  assert.equal(MAX_FILES, 10);
  assert.deepEqual(
    added.map((item) => item.name),
    ["g0.txt", "g1.txt"],
  );
  assert.equal(refused, 3);
  assert.equal(files.items.length, 10);
  files.remove(files.items[0].key);
  assert.equal(files.add(chosen(2, "h")).refused, 1); // room for one again
});

test("a message may be sent with text, files or both, once nothing is uploading or failed", () => {
  const files = new Attachments();
  assert.equal(files.canSend("hi"), true);
  assert.equal(files.canSend("   "), false);
  const [one, two] = files.add(chosen(2)).added;
  assert.equal(files.canSend("hi"), false); // still uploading
  files.uploaded(one.key, stored("a"));
  files.failed(two.key, "too large");
  assert.equal(files.canSend(""), false); // a failed one is removed first
  files.remove(two.key);
  assert.equal(files.canSend(""), true); // files alone, empty body
  assert.equal(files.canSend("  "), true);
});

test("sending takes the uploaded files, in the order chosen, and empties the list", () => {
  const files = new Attachments();
  const [one, two] = files.add(chosen(2)).added;
  files.uploaded(two.key, stored("b"));
  files.uploaded(one.key, stored("a"));
  assert.deepEqual(
    files.take().map((file) => file.id),
    ["a", "b"],
  );
  assert.deepEqual(files.items, []);
  assert.deepEqual(files.take(), []);
});

test("a removed file is gone, and what arrives for it afterwards changes nothing", () => {
  const files = new Attachments();
  const [one] = files.add(chosen(1)).added;
  assert.equal(files.remove(one.key), one);
  assert.equal(files.remove(one.key), null);
  files.uploaded(one.key, stored("late"));
  files.progress(one.key, 0.3);
  files.failed(one.key, "gone");
  assert.deepEqual(files.items, []);
  assert.deepEqual(files.take(), []);
});

test("clearing gives back what was in the list, to stop its uploads", () => {
  const files = new Attachments();
  files.add(chosen(3));
  assert.equal(files.clear().length, 3);
  assert.deepEqual(files.items, []);
});

test("a failed upload says why: the server's reason, the wait when rate limited, or no answer", () => {
  assert.equal(uploadFailure(413, "the file is over 25 MiB"), "the file is over 25 MiB");
  assert.equal(uploadFailure(413, ""), "the file is too large");
  assert.equal(uploadFailure(429, "slow down", 7), "too many uploads: try again in 7 s");
  assert.equal(uploadFailure(429, "slow down", 0), "too many uploads: try again shortly");
  assert.equal(uploadFailure(0, ""), "the server could not be reached");
  assert.equal(uploadFailure(500, ""), "upload failed (500)");
  assert.equal(uploadFailure(400, "the multipart body cannot be read"), "the multipart body cannot be read");
});

test("sizes read as people say them", () => {
  assert.equal(humanSize(0), "0 B");
  assert.equal(humanSize(999), "999 B");
  assert.equal(humanSize(1024), "1 KB");
  assert.equal(humanSize(1536), "1.5 KB");
  assert.equal(humanSize(10 * 1024 + 300), "10 KB");
  assert.equal(humanSize(25 * 1024 * 1024), "25 MB");
  assert.equal(humanSize(3.25 * 1024 ** 3), "3.3 GB");
});
