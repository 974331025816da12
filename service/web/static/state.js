// The client-side state: the rooms (rooms.js) and what happens in them: each room's
// stream (messages, replies, edits, deletes, reactions, pins, converging by updated_seq:
// room-state.js), read markers and unread counts, pending sends, who is online and
// typing. Views render it; they are told what changed through `onChange(what, roomId,
// detail)`. "recount": the unread counts need the server.

import { RoomsState } from "./rooms.js";

const TYPING_SHOWN_MS = 3000;

export class ChatState extends RoomsState {
  setConnection(state, detail) {
    this.connection = { state, detail };
    if (state !== "live") for (const id of this.rooms.keys()) this.#clearTyping(id);
    this.changed("connection");
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
    this.changed("thread", roomId, page.root.seq);
  }

  /** The room's pinned messages (GET /rooms/{id}/pins). */
  setPins(roomId, items) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.pinsLoaded = true;
    this.#announce(roomId, { ...state.putPins(items, state.streamSeq), recount: false });
    this.changed("pins", roomId);
  }

  #announce(roomId, { added, changed, replies, recount }) {
    for (const message of [...added, ...replies]) this.#stopTyping(roomId, message.user.id);
    if (added.length) this.changed("messages", roomId);
    if (replies.length) this.changed("replies", roomId, replies);
    if (changed.length) this.changed("updated", roomId, changed);
    if (added.length || changed.length) this.changed("rooms");
    if (recount) this.changed("recount", roomId);
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
    this.changed("room", roomId);
    this.changed("rooms");
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
    this.changed("rooms");
    if (!exact) this.changed("recount", roomId);
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

  /** A message on its way; `threadSeq`: a reply in that thread; `files`: its File objects. */
  addPending(roomId, clientMsgId, body, threadSeq = null, files = []) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.pending.set(clientMsgId, { body, threadSeq, files, failed: null });
    this.changed("pending", roomId);
  }

  acknowledged(roomId, clientMsgId) {
    const state = this.rooms.get(roomId);
    if (state && state.pending.delete(clientMsgId)) this.changed("pending", roomId);
  }

  failed(roomId, clientMsgId, detail) {
    const entry = this.rooms.get(roomId)?.pending.get(clientMsgId);
    if (!entry) return;
    entry.failed = detail;
    this.changed("pending", roomId);
  }

  discard(roomId, clientMsgId) {
    const state = this.rooms.get(roomId);
    if (state && state.pending.delete(clientMsgId)) this.changed("pending", roomId);
  }

  // --- presence, typing, members ------------------------------------------------------

  presence(roomId, event, user) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    if (event === "join") state.online.set(user.id, user);
    else state.online.delete(user.id);
    this.changed("online", roomId);
  }

  typing(roomId, user) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    const current = state.typists.get(user.id);
    if (current) clearTimeout(current.timer);
    const timer = setTimeout(() => this.#stopTyping(roomId, user.id), TYPING_SHOWN_MS);
    state.typists.set(user.id, { username: user.username, timer });
    this.changed("typing", roomId);
  }

  /** Who is online in the open room, by name, as last known (while the socket is down,
   * the view says it is not known now). */
  onlineUsers() {
    const room = this.current;
    if (!room) return [];
    return [...room.online.values()].sort((a, b) => a.username.localeCompare(b.username));
  }

  /** What the user may do to `message` of the open room: edit their own; delete their
   * own, or any as the room's owner or an admin; reply to a top-level message, react and
   * pin as a member (an admin pins anywhere). */
  messageRights(message) {
    const me = this.me;
    const room = this.current;
    const own = Boolean(me && message.user.id === me.id);
    const manages = Boolean(me && room && (me.is_admin || room.room.owner_id === me.id));
    const writes = Boolean(room && room.member);
    return {
      own,
      canEdit: own,
      canDelete: own || manages,
      canReply: writes && message.thread_seq == null,
      canReact: writes,
      canPin: writes || Boolean(me && me.is_admin),
    };
  }

  /** The names of those typing in the open room, while the socket is live. */
  typingNames() {
    const room = this.current;
    if (!room || this.connection.state !== "live") return [];
    return [...room.typists.values()].map((t) => t.username).sort();
  }

  setMembers(roomId, members, error = "") {
    const state = this.rooms.get(roomId);
    if (!state) return;
    if (members) state.members = [...members].sort((a, b) => a.username.localeCompare(b.username));
    for (const user of members ?? []) state.names.set(user.id, user.username);
    state.membersError = error;
    this.changed("members", roomId);
  }

  #stopTyping(roomId, userId) {
    const state = this.rooms.get(roomId);
    const entry = state && state.typists.get(userId);
    if (!entry) return;
    clearTimeout(entry.timer);
    state.typists.delete(userId);
    this.changed("typing", roomId);
  }

  #clearTyping(roomId) {
    const state = this.rooms.get(roomId);
    if (!state || !state.typists.size) return;
    for (const { timer } of state.typists.values()) clearTimeout(timer);
    state.typists.clear();
    this.changed("typing", roomId);
  }
}
