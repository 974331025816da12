// What the outbox puts on the socket for a message: its files by id, only when it has some,
// and the same again when it is resent after a reconnect.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Outbox } from "../../../service/web/static/outbox.js";

function live() {
  const frames = [];
  const socket = { isSynced: () => true, cursor: () => 0, sendFrame: (frame) => frames.push(frame) };
  return { frames, outbox: new Outbox(socket, { acknowledged() {}, failed() {} }) };
}

test("a message with files carries their ids, and may have an empty body", () => {
  const { frames, outbox } = live();
  const id = outbox.send(7, "", null, ["11", "12"]);
  assert.deepEqual(frames, [{ type: "message", room: 7, body: "", client_msg_id: id, files: ["11", "12"] }]);
  outbox.synced(7); // resent with the same id and files
  assert.deepEqual(frames[1], frames[0]);
  outbox.stop();
});

test("a message without files has no files field", () => {
  const { frames, outbox } = live();
  outbox.send(7, "hi");
  outbox.send(7, "re", 3, []);
  assert.equal("files" in frames[0], false);
  assert.equal("files" in frames[1], false);
  assert.equal(frames[1].thread_seq, 3);
  outbox.stop();
});
