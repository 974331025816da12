// The client-side state: the user's rooms (members, most recently active first) and the
// public rooms they may join, each room's messages and unread count (room-state.js),
// pending sends, who is online and typing. Views render it; they are told what changed
// through `onChange(what, roomId, detail)`. "recount": the unread counts need the server.

import { RoomState } from "./room-state.js";

const TYPING_SHOWN_MS = 3000;

export class ChatState {
  constructor() {
    this.me = null;
    this.rooms = new Map(); // room id → RoomState
    this.currentId = null;
    this.connection = { state: "connecting", detail: "" };
    this.listeners = [];
    this.clock = 0; // activity order
    this.generation = 0; // memberships granted; a snapshot older than one does not undo it
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  #changed(what, roomId = null, detail = null) {
    for (const listener of this.listeners) listener(what, roomId, detail);
  }

  get current() {
    return this.currentId === null ? null : (this.rooms.get(this.currentId) ?? null);
  }

  /** The user's rooms, the most recently active first. */
  memberRooms() {
    return [...this.rooms.values()].filter((r) => r.member).sort((a, b) => b.activity - a.activity);
  }

  /** Public rooms the user could join, by name. */
  otherRooms() {
    return [...this.rooms.values()].filter((r) => !r.member).sort((a, b) => a.room.name.localeCompare(b.room.name));
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

  // --- which rooms --------------------------------------------------------------------

  #room(room) {
    let state = this.rooms.get(room.id);
    if (state) state.room = { ...state.room, ...room };
    else {
      state = new RoomState(room, this.me ? this.me.id : null);
      state.activity = ++this.clock;
      this.rooms.set(room.id, state);
    }
    return state;
  }

  /** Rooms the user is a member of from now on (created, joined, added); the new ids. */
  addMemberRooms(rooms) {
    const added = [];
    for (const room of rooms) {
      const known = this.rooms.get(room.id);
      const state = this.#room(room);
      if (!known || !known.member) added.push(room.id);
      if (!state.member) state.activity = ++this.clock;
      state.becameMember(room.last_seq ?? 0);
      state.generation = ++this.generation;
    }
    this.#changed("rooms");
    return added;
  }

  /** Public rooms from GET /rooms: those not joined are listed to join; returns the ids dropped. */
  setListedRooms(rooms) {
    const listed = new Set();
    for (const room of rooms) {
      listed.add(room.id);
      if (!room.private || this.rooms.has(room.id)) this.#room(room);
    }
    const dropped = [];
    for (const [id, state] of this.rooms) {
      if (!state.member && !listed.has(id) && id !== this.currentId) dropped.push(id);
    }
    for (const id of dropped) this.rooms.delete(id);
    this.#changed("rooms");
    return dropped;
  }

  /** A room to read without joining (a link to it). */
  addOtherRoom(room) {
    this.#room(room);
    this.#changed("rooms");
  }

  /** A snapshot taken when `generation` was current: GET /users/me/rooms. Returns the ids
   * that are the user's rooms now, and those that stopped being theirs (for leftRoom). */
  setMyRooms(items, generation) {
    const mine = [];
    const bumped = [];
    for (let i = items.length - 1; i >= 0; i -= 1) {
      const { room, last_read_seq: lastRead, unread, mentions } = items[i];
      const state = this.#room(room);
      if (state.activitySeq > room.last_seq) bumped.push(state);
      else state.activity = ++this.clock;
      state.activitySeq = Math.max(state.activitySeq, room.last_seq);
      state.setSnapshot(lastRead, unread, room.last_seq, mentions ?? 0);
      mine.push(room.id);
    }
    // Rooms active since the snapshot stay on top, in the order they were.
    for (const state of bumped.sort((a, b) => a.activity - b.activity)) state.activity = ++this.clock;
    const listed = new Set(mine);
    const lost = [];
    for (const [id, state] of this.rooms) {
      if (state.member && !listed.has(id) && state.generation <= generation) lost.push(id);
    }
    this.#changed("rooms");
    return { mine, lost };
  }

  /** The user left, or was removed: a public room stays listed, to join again. */
  leftRoom(roomId) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    if (state.room.private || state.room.kind === "direct") return this.removeRoom(roomId);
    state.clearUnread(false);
    state.forgetMessages();
    this.#changed("rooms");
    this.#changed("room", roomId);
  }

  removeRoom(roomId) {
    const room = this.rooms.get(roomId);
    if (!room) return;
    for (const { timer } of room.typists.values()) clearTimeout(timer);
    this.rooms.delete(roomId);
    if (this.currentId === roomId) this.currentId = null;
    this.#changed("rooms");
  }

  /** The room the user looks at (null: none). */
  open(roomId) {
    this.currentId = roomId;
    this.#changed("current", roomId);
  }

  /** A room previewed without joining is forgotten when left. */
  forgetMessages(roomId) {
    const state = this.rooms.get(roomId);
    if (state && !state.member) state.forgetMessages();
  }

  welcome(roomId, room, online) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.room = { ...state.room, ...room };
    state.online = new Map(online.map((u) => [u.id, u]));
    this.#changed("room", roomId);
    this.#changed("rooms");
  }

  // --- the stream ---------------------------------------------------------------------

  /** Frames of the room's stream (message, edit, delete, reaction, pin) in seq order:
   * live, replayed, or paged over REST. */
  applyStream(roomId, frames) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    let recount = false;
    let active = false;
    const added = [];
    const replies = [];
    const changed = new Set();
    for (const frame of frames) {
      active = state.streamed(frame.seq) || active;
      const result = state.apply(frame);
      added.push(...result.added);
      replies.push(...result.replies);
      result.changed.forEach((seq) => changed.add(seq));
      recount = result.recount || recount;
    }
    if (active) state.activity = ++this.clock;
    this.#announce(roomId, { added, changed: [...changed], replies, recount });
  }

  /** Messages from REST in any order: history pages and an edit's answer (`log`), or a
   * thread's messages and the pinned ones (held beside the log). */
  addMessages(roomId, messages, { log = true } = {}) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    const result = state.putMessages(messages, { log });
    let recount = false;
    for (const message of result.added) {
      if (this.me && message.user.id === this.me.id) recount = !state.moveMarker(message.seq) || recount;
    }
    this.#announce(roomId, { ...result, recount });
  }

  /** A page of a thread (GET /rooms/{id}/threads/{seq}); `complete`: every reply is held now. */
  addThread(roomId, page, complete) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    this.#announce(roomId, { ...state.putThread(page, complete), recount: false });
    this.#changed("thread", roomId, page.root.seq);
  }

  /** The room's pinned messages (GET /rooms/{id}/pins). */
  setPins(roomId, items) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.pinsLoaded = true;
    this.#announce(roomId, { ...state.putPins(items, state.streamSeq), recount: false });
    this.#changed("pins", roomId);
  }

  #announce(roomId, { added, changed, replies, recount }) {
    for (const message of [...added, ...replies]) this.#stopTyping(roomId, message.user.id);
    if (added.length) this.#changed("messages", roomId);
    if (replies.length) this.#changed("replies", roomId, replies);
    if (changed.length) this.#changed("updated", roomId, changed);
    if (added.length || changed.length) this.#changed("rooms");
    if (recount) this.#changed("recount", roomId);
  }

  /** The replay is done: `info` {since, firstReplayed, lastSeq, truncated} says what is held. */
  synced(roomId, info) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.synced = true;
    state.streamSeq = Math.max(state.streamSeq, info.lastSeq);
    const from = (info.firstReplayed ?? info.lastSeq + 1) - 1;
    if (info.since === null || state.heldFrom === null) state.heldFrom = from;
    else if (info.truncated) {
      state.gapHeldFrom = state.heldFrom; // back once the gap is paged
      state.heldFrom = from;
    }
    this.#changed("room", roomId);
    this.#changed("rooms");
  }

  /** A truncated replay's gap is paged: everything since the old cursor is held again. */
  gapFilled(roomId) {
    const state = this.rooms.get(roomId);
    if (!state || state.gapHeldFrom === undefined) return;
    state.heldFrom = Math.min(state.heldFrom ?? Infinity, state.gapHeldFrom);
    state.gapHeldFrom = undefined;
  }

  unsynced() {
    for (const state of this.rooms.values()) state.synced = false;
  }

  // --- read markers -------------------------------------------------------------------

  /** The marker moved (a read frame from another device); recounts as needed. */
  readMoved(roomId, seq) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    const exact = state.moveMarker(seq);
    this.#changed("rooms");
    if (!exact) this.#changed("recount", roomId);
  }

  /** The user sees everything the room has received: the seq to report read, or null. */
  markSeen(roomId) {
    const state = this.rooms.get(roomId);
    if (!state || !state.member || !state.synced || state.marker === null) return null;
    const seq = state.streamSeq;
    if (seq <= state.marker) return null;
    this.readMoved(roomId, seq);
    return seq;
  }

  // --- pending sends ------------------------------------------------------------------

  /** A message on its way; `threadSeq`: a reply in that thread. */
  addPending(roomId, clientMsgId, body, threadSeq = null) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.pending.set(clientMsgId, { body, threadSeq, failed: null });
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

  // --- presence, typing, members ------------------------------------------------------

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
}
