// One room as this client knows it: its messages (message-store.js, each in its current
// state, converge.js), who is online and typing, what the user is sending, and the
// user's unread and mention counts.

import { MessageStore, insertionIndex } from "./message-store.js";

export class RoomState extends MessageStore {
  constructor(room, meId) {
    super();
    this.room = room;
    this.meId = meId;
    this.streamSeq = 0; // the highest seq of the stream received (any kind)
    this.synced = false;
    this.online = new Map(); // user id → User
    this.typists = new Map(); // user id → {username, timer}
    this.pending = new Map(); // client_msg_id → {body, threadSeq, files, failed: detail | null}
    this.members = null; // [User] once fetched
    this.membersError = "";
    this.clearUnread(false);
    this.generation = 0; // ChatState.generation when the user last became a member
    this.activity = 0; // sidebar order: higher is more recent
    this.activitySeq = room.last_seq ?? 0;
  }

  /** Forget the messages (a room previewed and left): the next subscribe starts afresh. */
  forgetMessages() {
    this.clearMessages();
    this.streamSeq = 0;
    this.synced = false;
    this.heldFrom = null;
  }

  get lastSeq() {
    return Math.max(this.streamSeq, this.room.last_seq ?? 0);
  }

  get oldestSeq() {
    return this.seqs.length ? this.seqs[0] : this.lastSeq + 1;
  }

  // --- a window of older history (message-store.js's hole) ------------------------------

  /** A window opened at `seq`: the messages from it on (`after`, a page of after_seq=seq)
   * are about to be added; the hole between its top and the oldest held below stays to be
   * paged. A window opened before at or above `seq` is dropped first. */
  openWindow(seq, after) {
    if (this.hole && seq < this.hole.before) this.dropWindow();
    const top = after.items.length ? after.items[after.items.length - 1].seq : seq;
    const tail = this.oldestSeq; // what the window is apart from, now
    if (after.has_more && top < tail - 1) this.hole = { after: top, before: tail };
  }

  /** A page of `hole` from its bottom (after_seq=hole.after) arrived; false when the hole
   * was dropped or paged meanwhile (the page is not to be added). */
  holePaged(hole, page) {
    if (this.hole !== hole) return false;
    const last = page.items.length ? page.items[page.items.length - 1].seq : hole.before;
    this.hole = page.has_more && last < hole.before - 1 ? { after: last, before: hole.before } : null;
    return true;
  }

  // --- the stream ---------------------------------------------------------------------

  /** One frame of the room's stream, in seq order (live, replayed, or paged over REST):
   * {added, changed, replies, recount}; recount: the unread counts need the server. */
  apply(frame) {
    if (frame.type === "message") {
      const { added, changed, replies } = this.putMessages([frame]);
      changed.push(...this.applyEntry(frame)); // a reply's root: its counts
      // The user's own message reads the room up to it (a reply moves its thread's marker instead).
      const mine = this.meId !== null && frame.user.id === this.meId && frame.thread_seq == null;
      return { added, changed, replies, recount: mine && !this.moveMarker(frame.seq) };
    }
    let exact = true;
    if (frame.type === "delete") exact = this.#deleted(frame);
    else if (frame.type === "edit") exact = this.#edited(frame);
    return { added: [], changed: this.applyEntry(frame), replies: [], recount: !exact };
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
  // The server's counts (GET /users/me/rooms) cover the stream up to `baseSeq`, the
  // room's last_seq in that same answer; what came after is counted here, from the
  // messages of the log held (replies never count). When the marker moves inside the
  // server's part, the messages held there are subtracted, if every one of them is
  // held (seq > heldFrom); otherwise the caller asks the server again. Mentions are
  // counted the same way, among the unread messages.

  clearUnread(member) {
    this.member = member;
    this.marker = null; // the user's read marker; null: unknown (not a member)
    this.base = 0; // the server's unread count of seqs ≤ baseSeq
    this.baseMentions = 0; // of those, the ones that mention the user
    this.baseSeq = 0;
    this.heldFrom = null; // every message with seq > heldFrom (up to streamSeq) is held
  }

  /** GET /users/me/rooms said so. */
  setSnapshot(lastReadSeq, unread, lastSeq, mentions = 0) {
    const local = this.marker;
    this.member = true;
    this.marker = lastReadSeq;
    this.base = unread;
    this.baseMentions = mentions;
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
    this.baseMentions = 0;
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
      this.baseMentions = 0;
      return true;
    }
    if (this.heldFrom === null || old < this.heldFrom) return false;
    for (let i = insertionIndex(this.seqs, old + 1); i < this.seqs.length && this.seqs[i] <= seq; i += 1) {
      const message = this.messages.get(this.seqs[i]);
      if (this.#counts(message)) this.base -= 1;
      if (this.#mentionsMe(message)) this.baseMentions -= 1;
    }
    this.base = Math.max(0, this.base);
    this.baseMentions = Math.max(0, this.baseMentions);
    return true;
  }

  /** Does a change of `target` by the entry at `seq` touch the server's part of the counts? */
  #inServerPart(seq, target) {
    if (!this.member || this.marker === null || seq <= this.baseSeq) return false;
    return target <= this.baseSeq && target > this.marker && this.base > 0;
  }

  /** A delete frame, before it applies: it takes back a message the server counted. */
  #deleted(frame) {
    if (frame.root || !this.#inServerPart(frame.seq, frame.target_seq)) return true; // a reply never counted
    const message = this.messages.get(frame.target_seq);
    // Not held: its author is not known here; held deleted already: what it said is not.
    if (!message || message.deleted) return false;
    if (this.#counts(message)) this.base -= 1;
    if (this.#mentionsMe(message)) this.baseMentions -= 1;
    return true;
  }

  /** An edit frame, before it applies: it may name the user, or stop naming them. */
  #edited(frame) {
    if (!this.#inServerPart(frame.seq, frame.target_seq)) return true;
    const message = this.messages.get(frame.target_seq);
    if (!message || message.updated_seq >= frame.seq) return false; // what it said before is not known
    const after = { ...message, mentions: frame.mentions ?? [], mentions_room: Boolean(frame.mentions_room) };
    this.baseMentions += Number(this.#mentionsMe(after)) - Number(this.#mentionsMe(message));
    this.baseMentions = Math.max(0, this.baseMentions);
    return true;
  }

  get unread() {
    return this.#count((message) => this.#counts(message), this.base);
  }

  /** The unread messages that mention the user, by name or @room. */
  get mentions() {
    return this.#count((message) => this.#mentionsMe(message), this.baseMentions);
  }

  #count(counts, base) {
    if (!this.member || this.marker === null) return 0;
    let count = this.marker >= this.baseSeq ? 0 : base;
    const above = Math.max(this.marker, this.baseSeq);
    for (let i = this.seqs.length - 1; i >= 0 && this.seqs[i] > above; i -= 1) {
      if (counts(this.messages.get(this.seqs[i]))) count += 1;
    }
    return count;
  }

  #counts(message) {
    return !message.deleted && message.user.id !== this.meId && message.thread_seq == null;
  }

  #mentionsMe(message) {
    if (!this.#counts(message)) return false;
    return Boolean(message.mentions_room) || (message.mentions ?? []).includes(this.meId);
  }
}
