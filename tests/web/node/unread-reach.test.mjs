// A room opened with more unread than the socket's replay holds: the history is paged down
// to the first unread message, so the "new messages" line can stand above it.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Jumper } from "../../../service/web/static/jump.js";
import { ChatState } from "../../../service/web/static/state.js";
import { UnreadLine } from "../../../service/web/static/unread-line.js";

const ME = { id: 1, username: "me" };
const ADA = { id: 2, username: "ada" };
const ROOM = 10;

const message = (seq) => ({
  type: "message", room: ROOM, seq, updated_seq: seq, user: ADA, body: `m${seq}`, created_at: "2026-12-07T10:00:00Z",
  mentions: [], mentions_room: false, thread_seq: null,
});

/** The server's history: GET /rooms/{id}/messages?before_seq=&limit= (or after_seq=), messages 1..last. */
function server(last) {
  const asked = [];
  return {
    asked,
    async request(method, path) {
      asked.push(path);
      const query = new URL(path, "http://x").searchParams;
      const limit = Number(query.get("limit"));
      let seqs;
      if (query.has("before_seq")) {
        const before = Number(query.get("before_seq"));
        seqs = Array.from({ length: before - 1 }, (_, i) => i + 1).slice(-limit);
      } else {
        const after = Number(query.get("after_seq"));
        seqs = Array.from({ length: last - after }, (_, i) => after + 1 + i).slice(0, limit);
      }
      return { items: seqs.map(message), has_more: true };
    },
  };
}

async function settled(check) {
  for (let i = 0; i < 50 && !check(); i += 1) await new Promise((resolve) => setImmediate(resolve));
}

function opened(last, read, heldFrom) {
  const state = new ChatState();
  state.reset(ME);
  const line = new UnreadLine(state);
  state.setMyRooms([{ room: { id: ROOM, name: "r", last_seq: last }, last_read_seq: read, unread: last - read }], 0);
  const held = Array.from({ length: last - heldFrom }, (_, i) => message(heldFrom + 1 + i));
  state.applyStream(ROOM, held); // the replay: the newest messages only
  state.synced(ROOM, { since: null, firstReplayed: heldFrom + 1, lastSeq: last, truncated: false });
  return { state, line };
}

test("the history is paged down to the first unread message, and the line told again", async () => {
  const { state, line } = opened(80, 10, 30);
  const auth = server(80);
  new Jumper(auth, state);
  const told = [];
  state.onChange((what) => what === "unread-line" && told.push(what));
  state.open(ROOM);
  line.capture(ROOM);
  await settled(() => told.length > 1);
  assert.equal(line.seq(state.current), 11);
  assert.equal(told.length, 2);
  assert.equal(auth.asked.length, 1);
});

test("a first unread message held already needs nothing paged", async () => {
  const { state, line } = opened(40, 30, 0);
  const auth = server(40);
  new Jumper(auth, state);
  state.open(ROOM);
  line.capture(ROOM);
  await settled(() => false);
  assert.equal(line.seq(state.current), 31);
  assert.deepEqual(auth.asked, []);
});
