// One room as this client knows it: its messages in their current state (edits and
// deletes merged in, whichever way they arrived), and the user's unread count.
//
// seq is a position in the room's stream: messages, edits and deletes each take one.
// Only messages are kept by seq; an edit or delete changes the message it targets,
// and one that targets a message not held yet is kept until that message arrives.
//
// Merging is order-free: a delete is final, and a body replaces another only when its
// edited_at is later, so a REST page, a replay and live frames can arrive in any order.
//
// The messages held run without a gap from the oldest one to the newest, except for one
// `hole` at most: a window of older history opened at a search result (jump.js) sits
// below it, apart from the messages above it, until the hole is paged or the window
// dropped. Messages with hole.after < seq < hole.before may be missing.

/** ISO 8601 UTC times, comparable as strings: the fraction padded to microseconds. */
function timeKey(iso) {
  if (!iso) return "";
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  return match ? `${match[1]}.${(match[2] ?? "").padEnd(6, "0")}` : iso;
}

/** `into` changed by what `from` knows that is newer; true when anything changed. */
function merge(into, from) {
  if (into.deleted) return false;
  if (from.deleted) {
    into.deleted = true;
    into.body = null;
    return true;
  }
  if (typeof from.body === "string" && timeKey(from.edited_at) > timeKey(into.edited_at)) {
    into.body = from.body;
    into.edited_at = from.edited_at;
    return true;
  }
  return false;
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

export class RoomState {
  constructor(room, meId) {
    this.room = room;
    this.meId = meId;
    this.messages = new Map(); // seq → Message (current state)
    this.seqs = []; // ascending
    this.orphans = new Map(); // target seq → {body, edited_at, deleted}: changes of messages not held
    this.streamSeq = 0; // the highest seq of the stream received (any kind)
    this.synced = false;
    this.online = new Map(); // user id → User
    this.typists = new Map(); // user id → {username, timer}
    this.pending = new Map(); // client_msg_id → {body, failed: detail | null}
    this.hole = null; // {after, before}: see above
    this.members = null; // [User] once fetched
    this.membersError = "";
    this.clearUnread(false);
    this.generation = 0; // ChatState.generation when the user last became a member
    this.activity = 0; // sidebar order: higher is more recent
    this.activitySeq = room.last_seq ?? 0;
  }

  /** Forget the messages (a room previewed and left): the next subscribe starts afresh. */
  forgetMessages() {
    this.messages = new Map();
    this.seqs = [];
    this.orphans = new Map();
    this.streamSeq = 0;
    this.synced = false;
    this.heldFrom = null;
    this.hole = null;
  }

  /** Forget the window of older history below the hole (another one is opened). */
  dropWindow() {
    if (!this.hole) return;
    const keep = insertionIndex(this.seqs, this.hole.before);
    for (const seq of this.seqs.slice(0, keep)) this.messages.delete(seq);
    this.seqs = this.seqs.slice(keep);
    this.hole = null;
  }

  get lastSeq() {
    return Math.max(this.streamSeq, this.room.last_seq ?? 0);
  }

  get oldestSeq() {
    return this.seqs.length ? this.seqs[0] : this.lastSeq + 1;
  }

  // --- the stream ---------------------------------------------------------------------

  /** Messages (frames or REST objects) in any order; returns [added, changed] seqs. */
  addMessages(messages) {
    const added = [];
    const changed = [];
    for (const incoming of messages) {
      const held = this.messages.get(incoming.seq);
      if (held) {
        if (merge(held, incoming)) changed.push(held.seq);
        continue;
      }
      const { type: _type, room: _room, duplicate: _duplicate, ref: _ref, ...message } = incoming;
      const orphan = this.orphans.get(message.seq);
      if (orphan) {
        merge(message, orphan);
        this.orphans.delete(message.seq);
      }
      this.messages.set(message.seq, message);
      this.seqs.splice(insertionIndex(this.seqs, message.seq), 0, message.seq);
      added.push(message);
    }
    return [added, changed];
  }

  /** An edit or delete frame; true when a held message changed. */
  applyChange(frame) {
    const change = frame.type === "delete" ? { deleted: true } : { body: frame.body, edited_at: frame.edited_at };
    const held = this.messages.get(frame.target_seq);
    if (held) return merge(held, change);
    const orphan = this.orphans.get(frame.target_seq) ?? { body: null, edited_at: null, deleted: false };
    merge(orphan, change);
    this.orphans.set(frame.target_seq, orphan);
    return false;
  }

  /** A stream frame (any kind) arrived: the room is active if it is new. */
  streamed(seq) {
    this.streamSeq = Math.max(this.streamSeq, seq);
    if (seq <= this.activitySeq) return false;
    this.activitySeq = seq;
    return true;
  }

  // --- unread -------------------------------------------------------------------------
  //
  // The server's count (GET /users/me/rooms) covers the stream up to `baseSeq`, the
  // room's last_seq in that same answer; what came after is counted here, from the
  // messages held. When the marker moves inside the server's part, the messages
  // held there are subtracted, if every one of them is held (seq > heldFrom);
  // otherwise the caller asks the server again.

  clearUnread(member) {
    this.member = member;
    this.marker = null; // the user's read marker; null: unknown (not a member)
    this.base = 0; // the server's unread count of seqs ≤ baseSeq
    this.baseSeq = 0;
    this.heldFrom = null; // every message with seq > heldFrom (up to streamSeq) is held
  }

  /** GET /users/me/rooms said so. */
  setSnapshot(lastReadSeq, unread, lastSeq) {
    const local = this.marker;
    this.member = true;
    this.marker = lastReadSeq;
    this.base = unread;
    this.baseSeq = lastSeq;
    // A read this device made that the server had not applied yet (asking again would
    // not help: the answer is the same until it does).
    if (local !== null && local > lastReadSeq) this.moveMarker(local);
  }

  /** A member from now on (joined, added, created), with nothing unread so far. */
  becameMember(lastSeq) {
    if (this.member) return;
    this.member = true;
    this.marker = Math.max(lastSeq, this.streamSeq);
    this.base = 0;
    this.baseSeq = this.marker;
  }

  /** The marker moves forward to `seq`; false when the count needs the server again. */
  moveMarker(seq) {
    if (!this.member || (this.marker !== null && seq <= this.marker)) return true;
    const old = this.marker ?? 0;
    this.marker = seq;
    if (this.base === 0 || old >= this.baseSeq) return true;
    if (seq >= this.baseSeq) {
      this.base = 0;
      return true;
    }
    if (this.heldFrom === null || old < this.heldFrom) return false;
    for (let i = insertionIndex(this.seqs, old + 1); i < this.seqs.length && this.seqs[i] <= seq; i += 1) {
      if (this.#counts(this.messages.get(this.seqs[i]))) this.base -= 1;
    }
    this.base = Math.max(0, this.base);
    return true;
  }

  /** A delete frame of the stream: it takes back a message the server counted. */
  deleted(frame) {
    const target = frame.target_seq;
    if (!this.member || this.marker === null || frame.seq <= this.baseSeq) return true;
    if (target > this.baseSeq || target <= this.marker || this.base === 0) return true;
    const message = this.messages.get(target);
    if (!message) return false; // its author is not known here
    if (message.user.id !== this.meId) this.base -= 1;
    return true;
  }

  get unread() {
    if (!this.member || this.marker === null) return 0;
    let count = this.marker >= this.baseSeq ? 0 : this.base;
    const above = Math.max(this.marker, this.baseSeq);
    for (let i = this.seqs.length - 1; i >= 0 && this.seqs[i] > above; i -= 1) {
      if (this.#counts(this.messages.get(this.seqs[i]))) count += 1;
    }
    return count;
  }

  #counts(message) {
    return !message.deleted && message.user.id !== this.meId;
  }
}
