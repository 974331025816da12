// What the page sends on the socket besides subscriptions: messages that survive
// reconnects (resent with the same client_msg_id until echoed), typing at the pace the
// server forwards it, and read markers.

const TYPING_EVERY_MS = 2000;
const TYPING_MARGIN_MS = 150;
const RESEND_MAX_MS = 10_000;

/** crypto.randomUUID exists only in secure contexts; plain http on a LAN address is not one. */
export function newClientMsgId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class Outbox {
  /** socket: {isSynced(roomId), cursor(roomId), sendFrame(frame)}; listener as ChatSocket's. */
  constructor(socket, listener) {
    this.socket = socket;
    this.listener = listener;
    this.pending = new Map(); // client_msg_id → {roomId, body, threadSeq, fileIds, resendTimer, attempts}
    this.lastTypingSent = new Map(); // room id → time
    this.typingTimer = 0;
  }

  stop() {
    this.stoppedTyping();
    for (const entry of this.pending.values()) clearTimeout(entry.resendTimer);
    this.pending.clear();
  }

  // --- messages -----------------------------------------------------------------------

  /** Queue a message (`threadSeq`: a reply in that thread; `fileIds`: its files, uploaded);
   * it goes now if the room is live, else after its next synced. */
  send(roomId, body, threadSeq = null, fileIds = []) {
    this.stoppedTyping();
    const id = newClientMsgId();
    this.pending.set(id, { roomId, body, threadSeq, fileIds, resendTimer: 0, attempts: 0 });
    if (this.socket.isSynced(roomId)) this.#transmit(id);
    return id;
  }

  discard(clientMsgId) {
    const entry = this.pending.get(clientMsgId);
    if (entry) clearTimeout(entry.resendTimer);
    this.pending.delete(clientMsgId);
  }

  /** The room is live again: anything not echoed yet goes again with the same id (stored once). */
  synced(roomId) {
    for (const [id, entry] of this.pending) if (entry.roomId === roomId) this.#transmit(id);
  }

  dropRoom(roomId) {
    for (const [id, entry] of this.pending) {
      if (entry.roomId !== roomId) continue;
      clearTimeout(entry.resendTimer);
      this.pending.delete(id);
    }
  }

  /** The echo of a message with this id arrived. */
  acknowledge(id) {
    const entry = this.pending.get(id);
    if (!entry) return;
    clearTimeout(entry.resendTimer);
    this.pending.delete(id);
    this.listener.acknowledged(entry.roomId, id);
  }

  /** An error frame about a pending send; false when it is about none. */
  error(frame) {
    const id = frame.client_msg_id;
    const entry = id ? this.pending.get(id) : undefined;
    if (!entry) return false;
    if (frame.code === "unavailable" || frame.code === "rate_limited") {
      entry.attempts += 1;
      const wait =
        frame.code === "rate_limited"
          ? Number(frame.retry_after_ms) || 1000
          : Math.min(RESEND_MAX_MS, 500 * 2 ** entry.attempts);
      clearTimeout(entry.resendTimer);
      entry.resendTimer = setTimeout(() => {
        if (this.socket.isSynced(entry.roomId) && this.pending.has(id)) this.#transmit(id);
      }, wait);
      return true;
    }
    this.pending.delete(id);
    this.listener.failed(entry.roomId, id, frame.detail || frame.code);
    return true;
  }

  #transmit(id) {
    const entry = this.pending.get(id);
    if (!entry) return;
    const frame = { type: "message", room: entry.roomId, body: entry.body, client_msg_id: id };
    if (entry.threadSeq !== null) frame.thread_seq = entry.threadSeq;
    if (entry.fileIds.length) frame.files = entry.fileIds;
    this.socket.sendFrame(frame);
  }

  // --- read markers -------------------------------------------------------------------

  /** Report the room (or with `thread`, that thread) read up to `seq`; false when the room
   * is not live on this socket (the server takes a read only of what this socket has received). */
  read(roomId, seq, thread = null) {
    const cursor = this.socket.cursor(roomId);
    if (!this.socket.isSynced(roomId) || cursor === null) return false;
    const frame = { type: "read", room: roomId, seq: Math.min(seq, cursor) };
    if (thread !== null) frame.thread = thread;
    this.socket.sendFrame(frame);
    return true;
  }

  // --- typing -------------------------------------------------------------------------

  /** The user is typing in a room; the server hears it at most once per 2 s per room. Typing
   * inside the window is sent when it ends, so a short burst right after a send is not lost. */
  typing(roomId) {
    if (!this.socket.isSynced(roomId) || this.typingTimer) return;
    // A little over 2 s apart: the server counts from when frames arrive, and drops early ones.
    const wait = (this.lastTypingSent.get(roomId) ?? 0) + TYPING_EVERY_MS + TYPING_MARGIN_MS - Date.now();
    if (wait <= 0) return this.#sendTyping(roomId);
    this.typingTimer = setTimeout(() => this.#sendTyping(roomId), wait);
  }

  /** The input was emptied, sent, or left for another room: no typing frame is due any more. */
  stoppedTyping() {
    clearTimeout(this.typingTimer);
    this.typingTimer = 0;
  }

  #sendTyping(roomId) {
    this.typingTimer = 0;
    if (!this.socket.isSynced(roomId)) return;
    this.lastTypingSent.set(roomId, Date.now());
    this.socket.sendFrame({ type: "typing", room: roomId });
  }
}
