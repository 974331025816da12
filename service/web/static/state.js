// The client-side state of rooms and messages: each room's messages unique and ordered by
// seq, what the user has read, pending sends, who is online and typing. Views render it;
// they are told what changed through `onChange(what, roomId)`.

const TYPING_SHOWN_MS = 3000;
const READ_KEY = "chat.read";

/** One room as this client knows it. */
class RoomState {
  constructor(room) {
    this.room = room;
    this.messages = new Map(); // seq → Message
    this.seqs = []; // ascending
    this.readSeq = null; // highest seq the user has looked at; null until known
    this.synced = false;
    this.online = new Map(); // user id → User
    this.typists = new Map(); // user id → {username, timer}
    this.pending = new Map(); // client_msg_id → {body, failed: detail | null}
    this.members = null; // [User] once fetched
    this.membersError = "";
  }

  get lastSeq() {
    return this.seqs.length ? this.seqs[this.seqs.length - 1] : (this.room.last_seq ?? 0);
  }

  get oldestSeq() {
    return this.seqs.length ? this.seqs[0] : this.lastSeq + 1;
  }

  /** Messages from others above the read mark. */
  unread(meId) {
    if (this.readSeq === null) return 0;
    let count = 0;
    for (let i = this.seqs.length - 1; i >= 0 && this.seqs[i] > this.readSeq; i -= 1) {
      if (this.messages.get(this.seqs[i]).user.id !== meId) count += 1;
    }
    return count;
  }

  /** Insert by seq; a seq already held is skipped, whichever way it came (replay, live, REST). */
  add(messages) {
    const added = [];
    for (const message of messages) {
      if (this.messages.has(message.seq)) continue;
      this.messages.set(message.seq, message);
      const at = insertionIndex(this.seqs, message.seq);
      this.seqs.splice(at, 0, message.seq);
      added.push(message);
    }
    return added;
  }
}

function insertionIndex(seqs, seq) {
  let low = 0;
  let high = seqs.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (seqs[mid] < seq) low = mid + 1;
    else high = mid;
  }
  return low;
}

export class ChatState {
  constructor() {
    this.me = null;
    this.rooms = new Map(); // room id → RoomState
    this.currentId = null;
    this.connection = { state: "connecting", detail: "" };
    this.listeners = [];
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  #changed(what, roomId = null) {
    for (const listener of this.listeners) listener(what, roomId);
  }

  get current() {
    return this.currentId === null ? null : (this.rooms.get(this.currentId) ?? null);
  }

  /** Rooms by name, as the sidebar lists them. */
  sortedRooms() {
    return [...this.rooms.values()].sort((a, b) => a.room.name.localeCompare(b.room.name));
  }

  reset(me) {
    for (const room of this.rooms.values()) for (const { timer } of room.typists.values()) clearTimeout(timer);
    this.me = me;
    this.rooms = new Map();
    this.currentId = null;
    this.connection = { state: "connecting", detail: "" };
    this.#changed("rooms");
  }

  setMe(me) {
    this.me = me;
  }

  setConnection(state, detail) {
    this.connection = { state, detail };
    if (state !== "live") for (const id of this.rooms.keys()) this.#clearTyping(id);
    this.#changed("connection");
  }

  /** Rooms from the list or from room_added; returns the ids that are new here. */
  addRooms(rooms) {
    const added = [];
    for (const room of rooms) {
      const known = this.rooms.get(room.id);
      if (known) known.room = { ...known.room, ...room };
      else {
        this.rooms.set(room.id, new RoomState(room));
        added.push(room.id);
      }
    }
    this.#changed("rooms");
    return added;
  }

  removeRoom(roomId) {
    const room = this.rooms.get(roomId);
    if (!room) return;
    for (const { timer } of room.typists.values()) clearTimeout(timer);
    this.rooms.delete(roomId);
    if (this.currentId === roomId) this.currentId = null;
    this.#changed("rooms");
  }

  /** The room the user looks at (null: none); looking at it reads it. */
  open(roomId) {
    this.currentId = roomId;
    this.#markRead(roomId);
    this.#changed("current", roomId);
  }

  welcome(roomId, room, online) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.room = { ...state.room, ...room };
    state.online = new Map(online.map((u) => [u.id, u]));
    this.#changed("room", roomId);
    this.#changed("rooms");
  }

  /** Messages of the room's stream or REST pages, in any order. */
  addMessages(roomId, messages) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    const added = state.add(messages);
    if (!added.length) return;
    for (const message of added) this.#stopTyping(roomId, message.user.id);
    if (roomId === this.currentId) this.#markRead(roomId);
    this.#changed("messages", roomId);
    this.#changed("rooms");
  }

  synced(roomId) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.synced = true;
    // A room never looked at from this browser: what came before is not news.
    if (state.readSeq === null) state.readSeq = this.#storedRead(roomId) ?? state.lastSeq;
    if (roomId === this.currentId) this.#markRead(roomId);
    this.#changed("room", roomId);
    this.#changed("rooms");
  }

  unsynced() {
    for (const state of this.rooms.values()) state.synced = false;
  }

  // Pending sends.

  addPending(roomId, clientMsgId, body) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.pending.set(clientMsgId, { body, failed: null });
    this.#changed("pending", roomId);
  }

  acknowledged(roomId, clientMsgId) {
    const state = this.rooms.get(roomId);
    if (state && state.pending.delete(clientMsgId)) this.#changed("pending", roomId);
  }

  failed(roomId, clientMsgId, detail) {
    const entry = this.rooms.get(roomId)?.pending.get(clientMsgId);
    if (!entry) return;
    entry.failed = detail;
    this.#changed("pending", roomId);
  }

  discard(roomId, clientMsgId) {
    const state = this.rooms.get(roomId);
    if (state && state.pending.delete(clientMsgId)) this.#changed("pending", roomId);
  }

  // Presence, typing, members.

  presence(roomId, event, user) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    if (event === "join") state.online.set(user.id, user);
    else state.online.delete(user.id);
    this.#changed("online", roomId);
  }

  typing(roomId, user) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    const current = state.typists.get(user.id);
    if (current) clearTimeout(current.timer);
    const timer = setTimeout(() => this.#stopTyping(roomId, user.id), TYPING_SHOWN_MS);
    state.typists.set(user.id, { username: user.username, timer });
    this.#changed("typing", roomId);
  }

  setMembers(roomId, members, error = "") {
    const state = this.rooms.get(roomId);
    if (!state) return;
    if (members) state.members = [...members].sort((a, b) => a.username.localeCompare(b.username));
    state.membersError = error;
    this.#changed("members", roomId);
  }

  #stopTyping(roomId, userId) {
    const state = this.rooms.get(roomId);
    const entry = state && state.typists.get(userId);
    if (!entry) return;
    clearTimeout(entry.timer);
    state.typists.delete(userId);
    this.#changed("typing", roomId);
  }

  #clearTyping(roomId) {
    const state = this.rooms.get(roomId);
    if (!state || !state.typists.size) return;
    for (const { timer } of state.typists.values()) clearTimeout(timer);
    state.typists.clear();
    this.#changed("typing", roomId);
  }

  // Read marks live in localStorage, per user, so another tab or a reload knows them.

  #markRead(roomId) {
    const state = roomId === null ? null : this.rooms.get(roomId);
    if (!state || !state.synced) return;
    if (state.readSeq !== null && state.readSeq >= state.lastSeq) return;
    state.readSeq = state.lastSeq;
    this.#storeRead(roomId, state.readSeq);
    this.#changed("rooms");
  }

  #readMarks() {
    if (!this.me) return {};
    try {
      return JSON.parse(localStorage.getItem(`${READ_KEY}.${this.me.id}`)) || {};
    } catch {
      return {};
    }
  }

  #storedRead(roomId) {
    const seq = this.#readMarks()[roomId];
    return Number.isInteger(seq) ? seq : null;
  }

  #storeRead(roomId, seq) {
    if (!this.me) return;
    const marks = this.#readMarks();
    marks[roomId] = seq;
    try {
      localStorage.setItem(`${READ_KEY}.${this.me.id}`, JSON.stringify(marks));
    } catch {
      // Storage full or refused: the marks last as long as the page.
    }
  }
}
