// A model of one room's stream on the server, as docs/protocol.md and the design describe
// it: messages, replies, edits, deletes, reactions and pins, each an entry with its own
// seq that updates its target's state (and a reply's root) in the same step. It answers
// what a client may receive: live frames (as committed), replayed frames (a message in
// its state at the replay), and REST pages (a snapshot at some seq).

export const USERS = [
  { id: 1, username: "ann" },
  { id: 2, username: "bob" },
  { id: 3, username: "cy" },
];
const EMOJI = ["👍", "🎉", ":tada:"];

/** A seeded generator (mulberry32): the same seed, the same script. */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const at = (seq) => new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString().replace(".000Z", "Z");

export class ServerRoom {
  constructor(roomId = 7) {
    this.roomId = roomId;
    this.messages = new Map(); // seq → Message (current)
    this.entries = []; // index seq - 1 → {seq, kind, frame(live), target}
    this.states = [new Map()]; // states[s]: every message as of seq s
    this.pinnedSeq = new Map(); // message seq → the pin entry's seq
  }

  get lastSeq() {
    return this.entries.length;
  }

  #next() {
    return this.entries.length + 1;
  }

  #commit(entry) {
    this.entries.push(entry);
    this.states.push(new Map([...this.messages].map(([seq, m]) => [seq, structuredClone(m)])));
  }

  send(user, { thread = null, mentions = [], mentionsRoom = false } = {}) {
    const seq = this.#next();
    const message = {
      id: 1000 + seq,
      room_id: this.roomId,
      seq,
      user,
      body: `message ${seq}`,
      client_msg_id: null,
      created_at: at(seq),
      edited_at: null,
      deleted: false,
      updated_seq: seq,
      thread_seq: thread,
      reply_count: 0,
      last_reply_at: null,
      reactions: [],
      pinned: false,
      mentions,
      mentions_room: mentionsRoom,
      files: [],
    };
    this.messages.set(seq, message);
    let root = null;
    if (thread !== null) {
      root = this.#recount(thread, seq);
    }
    this.#commit({ seq, kind: "message", target: seq, root });
    return seq;
  }

  /** The root's counts over its replies not deleted, after the entry at `seq`. */
  #recount(rootSeq, seq) {
    const root = this.messages.get(rootSeq);
    const replies = [...this.messages.values()].filter((m) => m.thread_seq === rootSeq && !m.deleted);
    root.reply_count = replies.length;
    root.last_reply_at = replies.length ? replies[replies.length - 1].created_at : null;
    root.updated_seq = seq;
    return { seq: rootSeq, reply_count: root.reply_count, last_reply_at: root.last_reply_at };
  }

  edit(target, { mentions = [], mentionsRoom = false } = {}) {
    const seq = this.#next();
    const message = this.messages.get(target);
    Object.assign(message, { body: `edited at ${seq}`, edited_at: at(seq), updated_seq: seq, mentions });
    message.mentions_room = mentionsRoom;
    this.#commit({ seq, kind: "edit", target, user: message.user });
  }

  delete(target, user) {
    const seq = this.#next();
    const message = this.messages.get(target);
    const unpinned = message.pinned;
    Object.assign(message, { deleted: true, body: null, reactions: [], pinned: false, mentions: [], files: [] });
    message.mentions_room = false;
    message.updated_seq = seq;
    this.pinnedSeq.delete(target);
    const root = message.thread_seq === null ? null : this.#recount(message.thread_seq, seq);
    this.#commit({ seq, kind: "delete", target, user, unpinned, root });
  }

  /** False when nothing is stored (added when had, removed when not had). */
  react(target, user, emoji, op) {
    const message = this.messages.get(target);
    let entry = message.reactions.find((r) => r.emoji === emoji);
    const had = Boolean(entry && entry.user_ids.includes(user.id));
    if ((op === "add") === had) return false;
    const seq = this.#next();
    if (!entry) {
      entry = { emoji, count: 0, user_ids: [] };
      message.reactions.push(entry);
    }
    if (op === "add") entry.user_ids.push(user.id);
    else entry.user_ids.splice(entry.user_ids.indexOf(user.id), 1);
    entry.count = entry.user_ids.length;
    message.reactions = message.reactions.filter((r) => r.count > 0);
    message.updated_seq = seq;
    this.#commit({ seq, kind: "reaction", target, user, emoji, op, count: entry.count });
    return true;
  }

  pin(target, user, op) {
    const message = this.messages.get(target);
    if ((op === "add") === message.pinned) return false;
    const seq = this.#next();
    message.pinned = op === "add";
    message.updated_seq = seq;
    if (op === "add") this.pinnedSeq.set(target, seq);
    else this.pinnedSeq.delete(target);
    this.#commit({ seq, kind: "pin", target, user, op });
    return true;
  }

  /** The frame of the entry at `seq` as a socket sends it at `time` (live: time = seq). */
  frame(seq, time = seq) {
    const entry = this.entries[seq - 1];
    const room = this.roomId;
    const user = entry.user;
    switch (entry.kind) {
      case "message": {
        const message = structuredClone(this.states[time].get(seq));
        const frame = { type: "message", room, ...message };
        // A reply carries its root as of the reply (emptied once the reply is deleted).
        if (entry.root && !message.deleted) frame.root = entry.root;
        return frame;
      }
      case "edit": {
        const now = this.states[time].get(entry.target);
        const then = this.states[seq].get(entry.target);
        const body = now.deleted ? null : then.body;
        return { type: "edit", room, seq, target_seq: entry.target, body, edited_at: then.edited_at, user,
          mentions: then.mentions, mentions_room: then.mentions_room };
      }
      case "delete": {
        const frame = { type: "delete", room, seq, target_seq: entry.target, user, unpinned: entry.unpinned };
        if (entry.root) frame.root = entry.root;
        return frame;
      }
      case "reaction":
        return { type: "reaction", room, seq, target_seq: entry.target, emoji: entry.emoji, op: entry.op, user,
          count: entry.count };
      case "pin":
        return { type: "pin", room, seq, target_seq: entry.target, op: entry.op, user };
      default:
        throw new Error(entry.kind);
    }
  }

  // --- REST, as of `time` ---------------------------------------------------------------

  history(time) {
    return [...this.states[time].values()].filter((m) => m.thread_seq === null).map((m) => structuredClone(m));
  }

  thread(time, rootSeq) {
    const state = this.states[time];
    const items = [...state.values()].filter((m) => m.thread_seq === rootSeq).map((m) => structuredClone(m));
    return { root: structuredClone(state.get(rootSeq)), items, has_more: false };
  }

  /** The pinned messages as of `time`, most recently pinned first. */
  pins(time) {
    const state = this.states[time];
    const pinnedAt = new Map();
    for (const entry of this.entries.slice(0, time)) {
      if (entry.kind === "pin" && entry.op === "add") pinnedAt.set(entry.target, entry.seq);
    }
    return [...state.values()]
      .filter((m) => m.pinned)
      .sort((a, b) => pinnedAt.get(b.seq) - pinnedAt.get(a.seq))
      .map((m) => structuredClone(m));
  }
}

/** A random script of about `steps` entries: messages, replies, edits, deletes, reactions, pins. */
export function randomRoom(rand, steps) {
  const room = new ServerRoom();
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const user = () => pick(USERS);
  const mentions = () => (rand() < 0.3 ? [pick(USERS).id] : []);
  room.send(user(), { mentions: mentions() });
  while (room.lastSeq < steps) {
    const live = [...room.messages.values()].filter((m) => !m.deleted);
    const roots = live.filter((m) => m.thread_seq === null);
    const roll = rand();
    if (roll < 0.25 || !live.length) room.send(user(), { mentions: mentions(), mentionsRoom: rand() < 0.1 });
    else if (roll < 0.45 && roots.length) room.send(user(), { thread: pick(roots).seq, mentions: mentions() });
    else if (roll < 0.55) room.edit(pick(live).seq, { mentions: mentions() });
    else if (roll < 0.65) room.delete(pick(live).seq, user());
    else if (roll < 0.9) room.react(pick(live).seq, user(), pick(EMOJI), rand() < 0.7 ? "add" : "remove");
    else room.pin(pick(live).seq, user(), rand() < 0.7 ? "add" : "remove");
  }
  return room;
}
