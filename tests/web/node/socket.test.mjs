// The socket (socket.js: connection.js, subscriptions.js, outbox.js) feeding the state
// (state.js), with the server played by the test over a WebSocket faked in memory
// (socket-harness.mjs): every seq once and in order across reconnects, replays and
// duplicates; a truncated replay's gap paged later; messages resent after a reconnect
// with the same client_msg_id and held once.
// Run: node --test tests/web/node

import assert from "node:assert/strict";
import { test } from "node:test";

import { RoomServer, page, tick } from "./socket-harness.mjs";
import { ServerRoom, USERS, random, randomRoom } from "./server-model.mjs";

const [ANN, BOB] = USERS;
const ROOM = { id: 7, name: "lobby", description: "", private: false, owner_id: BOB.id, kind: "room", last_seq: 0 };

async function joined(me = ANN) {
  const client = await page(me);
  client.state.addMemberRooms([ROOM]);
  client.socket.subscribe([ROOM.id]);
  client.ws.serve({ type: "hello", user: me });
  return client;
}

/** What the server holds for a message, in the shape the client keeps. */
function expected(message) {
  return { ...structuredClone(message), reactions: message.reactions ?? [], mentions: message.mentions ?? [] };
}

test("every seq reaches the state once, in order, across reconnects, overlapping replays and duplicates", async () => {
  for (let seed = 1; seed <= 60; seed += 1) {
    const rand = random(seed);
    const script = randomRoom(rand, 20 + Math.floor(rand() * 30));
    const last = script.lastSeq;
    // The room as it grows: entries commit one by one, live to the socket or while it is down.
    const room = new ServerRoom(script.roomId);
    Object.assign(room, { messages: script.messages, entries: [], states: [script.states[0]] });
    const server = new RoomServer(room, ROOM);
    const client = await joined();
    let ws = client.ws;
    room.entries = script.entries.slice(0, Math.floor(rand() * last));
    room.states = script.states.slice(0, room.entries.length + 1);
    server.subscribe(ws);
    const sent = []; // live frames already sent, to send again as duplicates
    while (room.lastSeq < last) {
      room.entries.push(script.entries[room.lastSeq]);
      room.states.push(script.states[room.lastSeq]);
      const roll = rand();
      if (roll < 0.15) {
        ws = await client.reconnect(); // the entry committed while the socket was down
        ws.serve({ type: "hello", user: ANN });
        server.subscribe(ws);
      } else {
        const frame = room.frame(room.lastSeq);
        ws.serve(frame);
        sent.push(frame);
        if (roll < 0.3) ws.serve(sent[Math.floor(rand() * sent.length)]); // a frame again
      }
    }
    const seqs = client.streamed.map(([, seq]) => seq);
    assert.deepEqual(seqs, Array.from({ length: last }, (_, i) => i + 1), `seed ${seed}: every seq once, in order`);
    const held = client.state.rooms.get(ROOM.id);
    for (const [seq, message] of held.messages) {
      assert.deepEqual(message, expected(script.messages.get(seq)), `seed ${seed}: message ${seq}`);
    }
    assert.equal(client.socket.cursor(ROOM.id), last);
    client.socket.stop();
  }
});

test("a truncated replay's gap is paged later, and the log holds every message in seq order", async () => {
  const room = new ServerRoom(ROOM.id);
  const server = new RoomServer(room, ROOM);
  for (let i = 0; i < 3; i += 1) room.send(BOB);
  const client = await joined();
  server.subscribe(client.ws); // 1..3
  for (let i = 0; i < 10; i += 1) room.send(BOB); // 4..13 while away
  const ws = await client.reconnect();
  ws.serve({ type: "hello", user: ANN });
  assert.deepEqual(ws.sentOf("subscribe").at(-1).rooms, [{ room: ROOM.id, since: 3 }]);
  server.subscribe(ws, { keep: 4 }); // 10..13 replayed, 4..9 skipped
  assert.deepEqual(client.asked.gaps, [{ roomId: ROOM.id, after: 3, before: 10 }]);
  const held = client.state.rooms.get(ROOM.id);
  assert.deepEqual(held.seqs, [1, 2, 3, 10, 11, 12, 13]);
  room.send(BOB); // 14, live before the page answers
  ws.serve(room.frame(14));
  // The page of the gap answers last, with the messages of 4..9.
  client.state.addMessages(ROOM.id, room.history(14).filter((m) => m.seq > 3 && m.seq < 10));
  client.state.gapFilled(ROOM.id);
  assert.deepEqual(held.seqs, Array.from({ length: 14 }, (_, i) => i + 1));
  assert.equal(held.heldFrom, 0);
  client.socket.stop();
});

test("a replay's newer state replaces the one held; an older page never brings the old one back", async () => {
  const room = new ServerRoom(ROOM.id);
  const server = new RoomServer(room, ROOM);
  const seq = room.send(BOB); // 1
  const client = await joined();
  server.subscribe(client.ws);
  const stale = room.history(1); // a page asked now, answered at the end
  room.edit(seq); // 2, while the socket is down
  room.react(seq, ANN, "👍", "add"); // 3
  const ws = await client.reconnect();
  ws.serve({ type: "hello", user: ANN });
  server.subscribe(ws); // the edit and the reaction, from the cursor
  room.edit(seq); // 4, live
  ws.serve(room.frame(4));
  ws.serve(room.frame(3)); // the reaction again: at or below the cursor, dropped
  client.state.addMessages(ROOM.id, stale);
  const held = client.state.rooms.get(ROOM.id).messages.get(seq);
  assert.equal(held.body, "edited at 4");
  assert.equal(held.updated_seq, 4);
  assert.deepEqual(held.reactions, [{ emoji: "👍", count: 1, user_ids: [ANN.id] }]);
  client.socket.stop();
});

test("unread: others' messages count, the user's own and markers from other devices clear, never backwards", async () => {
  const room = new ServerRoom(ROOM.id);
  const server = new RoomServer(room, ROOM);
  room.send(BOB); // 1
  room.send(BOB); // 2
  const client = await joined();
  const { state } = client;
  state.setMyRooms([{ room: { ...ROOM, last_seq: 2 }, last_read_seq: 0, unread: 2, mentions: 0 }], state.generation);
  server.subscribe(client.ws);
  const held = state.rooms.get(ROOM.id);
  assert.equal(held.unread, 2);
  room.send(BOB, { mentions: [ANN.id] }); // 3, mentions Ann
  room.send(BOB); // 4
  client.ws.serve(room.frame(3), room.frame(4));
  assert.deepEqual([held.unread, held.mentions], [4, 1]);
  client.ws.serve({ type: "read", room: ROOM.id, seq: 3 }); // Ann read up to 3 on her phone
  assert.deepEqual([held.unread, held.mentions], [1, 0]);
  client.ws.serve({ type: "read", room: ROOM.id, seq: 1 }); // an older marker: nothing moves back
  assert.equal(held.unread, 1);
  client.ws.serve({ type: "read", room: ROOM.id, seq: 9, thread: 1 }); // a thread's marker is not the room's
  assert.equal(held.unread, 1);
  assert.deepEqual(client.asked.threadReads, [[ROOM.id, 1, 9]]);
  room.send(ANN); // 5: her own message reads the room up to it
  client.ws.serve(room.frame(5));
  assert.equal(held.unread, 0);
  room.send(BOB); // 6
  client.ws.serve(room.frame(6));
  assert.equal(held.unread, 1);
  // Seen here: the marker moves and the server is told, up to what this socket received.
  assert.equal(state.markSeen(ROOM.id), 6);
  assert.equal(client.socket.read(ROOM.id, 6), true);
  assert.deepEqual(client.ws.sentOf("read"), [{ type: "read", room: ROOM.id, seq: 6 }]);
  assert.equal(held.unread, 0);
  client.ws.drop(); // not live: a read cannot be sent, and says so
  assert.equal(client.socket.read(ROOM.id, 6), false);
  client.socket.stop();
});

test("messages not echoed are resent after a reconnect with the same client_msg_id, and held once", async () => {
  const room = new ServerRoom(ROOM.id);
  const server = new RoomServer(room, ROOM);
  const client = await joined();
  const { state, socket, streamed } = client;
  server.subscribe(client.ws);
  const send = (body) => {
    const id = socket.send(ROOM.id, body);
    state.addPending(ROOM.id, id, body);
    return id;
  };
  /** The server stores a message of Ann's sent with this id: its frame. */
  const store = (id, body) => {
    const seq = room.send(ANN);
    for (const message of [room.messages.get(seq), room.states[seq].get(seq)]) Object.assign(message, { client_msg_id: id, body });
    return room.frame(seq);
  };
  const stored = send("stored"); // stored, but its echo is lost with the connection
  const lost = send("lost"); // lost with the connection
  assert.deepEqual(client.ws.sentOf("message").map((f) => f.client_msg_id), [stored, lost]);
  store(stored, "stored"); // 1
  client.ws.drop();
  const later = send("later"); // while the socket is down: waits
  let ws = await client.reconnect();
  ws.serve({ type: "hello", user: ANN });
  assert.deepEqual(ws.sentOf("message"), [], "nothing goes before the room is synced");
  server.subscribe(ws); // the replay brings the first one's echo
  assert.deepEqual(ws.sentOf("message").map((f) => [f.client_msg_id, f.body]), [[lost, "lost"], [later, "later"]]);
  // The lost one had reached the old connection's server after all: Bob's message (2), then
  // it (3), are on their way live when the answer to its resend says it is stored already.
  room.send(BOB); // 2
  const again = store(lost, "lost"); // 3
  ws.serve({ ...again, duplicate: true }, room.frame(2), again);
  assert.deepEqual([...state.rooms.get(ROOM.id).pending.keys()], [later]);
  ws = await client.reconnect(); // again before the last one's echo
  ws.serve({ type: "hello", user: ANN });
  server.subscribe(ws);
  assert.deepEqual(ws.sentOf("message").map((f) => f.client_msg_id), [later], "echoed ones are not resent");
  ws.serve(store(later, "later")); // 4
  const held = state.rooms.get(ROOM.id);
  assert.equal(held.pending.size, 0);
  assert.deepEqual(streamed.map(([, seq]) => seq), [1, 2, 3, 4]);
  assert.deepEqual([...held.messages.values()].map((m) => [m.seq, m.body, m.client_msg_id]), [
    [1, "stored", stored],
    [2, "message 2", null],
    [3, "lost", lost],
    [4, "later", later],
  ]);
  ws = await client.reconnect();
  ws.serve({ type: "hello", user: ANN });
  server.subscribe(ws);
  assert.deepEqual(ws.sentOf("message"), [], "nothing left to resend");
  socket.stop();
});

test("a login refused on the socket ends the page's login; a token that expired reconnects", async () => {
  const client = await page(ANN);
  client.ws.serve({ type: "hello", user: ANN });
  client.ws.drop(1008, "token expired");
  assert.equal(client.state.connection.state, "reconnecting");
  client.socket.reconnectNow();
  await tick();
  assert.equal(client.made.length, 2);
  client.ws.drop(1008, "token revoked");
  assert.deepEqual(client.asked.ended, ["token revoked"]);
  client.socket.reconnectNow(); // stopped: no new socket
  await tick();
  assert.equal(client.made.length, 2);
});

test("room_updated from the socket renames the room held, in the sidebar's lists and the open room", async () => {
  const client = await joined();
  new RoomServer(new ServerRoom(ROOM.id), ROOM).subscribe(client.ws);
  const told = [];
  client.state.onChange((what, roomId) => told.push([what, roomId]));
  client.ws.serve({ type: "room_updated", room: { ...ROOM, name: "hall", description: "all of us" } });
  assert.deepEqual(client.state.rooms.get(ROOM.id).room.name, "hall");
  assert.deepEqual(client.state.rooms.get(ROOM.id).room.description, "all of us");
  assert.deepEqual(told, [["rooms", null], ["room", ROOM.id]]);
  client.socket.stop();
});

test("the rooms list is asked again on every hello, the first included: rooms made before it are not sent", async () => {
  const client = await page(ANN);
  assert.equal(client.asked.lists, 0);
  client.ws.serve({ type: "hello", user: ANN });
  assert.equal(client.asked.lists, 1, "a room made between the page's list and the socket's registration");
  const ws = await client.reconnect();
  ws.serve({ type: "hello", user: ANN });
  assert.equal(client.asked.lists, 2);
  client.socket.stop();
});
