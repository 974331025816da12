// One room's messages as this client holds them, each in its current state (converge.js):
// the log (top-level messages, by seq), the replies of threads, and messages held for
// other reasons (a thread's root, a pinned message far back in the history).
//
// seq is a position in the room's stream: messages, edits, deletes, reactions and pins
// each take one. Messages are kept by seq; any other entry changes the messages it
// concerns, and one that concerns a message not held yet waits for it (a REST page
// asked before the entry may answer after it, with the older state).
//
// The log runs without a gap from its oldest message to the newest, except for one
// `hole` at most: a window of older history opened at a search result (jump.js) sits
// below it, apart from the messages above it, until the hole is paged or the window
// dropped. Messages with hole.after < seq < hole.before may be missing.

import { applyEffect, effectsOf, normalized, replaces } from "./converge.js";

const MAX_WAITING = 2000; // entries of messages not held, kept per room

export function insertionIndex(seqs, seq) {
  let low = 0;
  let high = seqs.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (seqs[mid] < seq) low = mid + 1;
    else high = mid;
  }
  return low;
}

function insertSorted(seqs, seq) {
  const at = insertionIndex(seqs, seq);
  if (seqs[at] !== seq) seqs.splice(at, 0, seq);
}

export class MessageStore {
  constructor() {
    this.names = new Map(); // user id → username: authors, who changed something, members
    this.clearMessages();
  }

  clearMessages() {
    this.messages = new Map(); // seq → Message, current state
    this.seqs = []; // the log: top-level messages held, ascending
    this.waiting = new Map(); // target seq → [effect] of messages not held
    this.waitingCount = 0;
    this.threads = new Map(); // root seq → ascending seqs of its replies held
    this.threadsLoaded = new Set(); // root seqs whose every reply is held (paged over REST)
    this.pinKeys = new Map(); // seq → order of the pinned list (higher: pinned more recently)
    this.pinsLoaded = false; // the pinned list was asked for (GET /rooms/{id}/pins)
    this.hole = null; // {after, before}: see above
  }

  /** A message of the log (not a reply, nor only held for a thread or the pins). */
  inLog(seq) {
    const at = insertionIndex(this.seqs, seq);
    return this.seqs[at] === seq;
  }

  /**
   * Message objects (frames, REST) in any order; `log`: they are top-level messages of the
   * log's history (else held beside it: a thread's messages, the pinned ones).
   * Returns {added: [Message] new in the log, changed: [seq], replies: [Message] new replies}.
   */
  putMessages(messages, { log = true } = {}) {
    const added = [];
    const changed = [];
    const replies = [];
    for (const incoming of messages) {
      const seq = incoming.seq;
      const held = this.messages.get(seq);
      if (incoming.user) this.names.set(incoming.user.id, incoming.user.username);
      if (held) {
        if (replaces(incoming, held) && !sameState(incoming, held)) {
          this.messages.set(seq, normalized(incoming));
          changed.push(seq);
        }
      } else {
        const message = normalized(incoming);
        this.messages.set(seq, message);
        this.#settle(message);
        if (message.thread_seq != null) {
          insertSorted(this.#replySeqs(message.thread_seq), seq);
          replies.push(message);
        }
      }
      const message = this.messages.get(seq);
      if (log && message.thread_seq == null && !this.inLog(seq)) {
        insertSorted(this.seqs, seq);
        added.push(message);
      }
    }
    return { added, changed: changed.filter((seq) => !added.some((m) => m.seq === seq)), replies };
  }

  /** Any stream frame but a new message: the seqs of the messages held that changed. */
  applyEntry(frame) {
    const changed = [];
    if (frame.user) this.names.set(frame.user.id, frame.user.username);
    for (const effect of effectsOf(frame)) {
      const held = this.messages.get(effect.target);
      if (held) {
        if (applyEffect(held, effect)) changed.push(effect.target);
      } else this.#wait(effect);
    }
    if (frame.type === "pin" && frame.op === "add") this.pinKeys.set(frame.target_seq, frame.seq);
    return changed;
  }

  /** Entries that came before their message: applied now, those newer than it. */
  #settle(message) {
    const effects = this.waiting.get(message.seq);
    if (!effects) return;
    this.waiting.delete(message.seq);
    this.waitingCount -= effects.length;
    effects.sort((a, b) => a.seq - b.seq).forEach((effect) => applyEffect(message, effect));
  }

  #wait(effect) {
    const list = this.waiting.get(effect.target) ?? [];
    list.push(effect);
    this.waiting.set(effect.target, list);
    this.waitingCount += 1;
    if (this.waitingCount > MAX_WAITING) {
      // The oldest target goes: entries of a message far back that may never be held.
      const [target, dropped] = this.waiting.entries().next().value;
      this.waiting.delete(target);
      this.waitingCount -= dropped.length;
    }
  }

  #replySeqs(root) {
    let seqs = this.threads.get(root);
    if (!seqs) {
      seqs = [];
      this.threads.set(root, seqs);
    }
    return seqs;
  }

  // --- threads ------------------------------------------------------------------------

  /** The replies held of the thread of `root`, ascending. */
  replies(root) {
    return (this.threads.get(root) ?? []).map((seq) => this.messages.get(seq));
  }

  /** A page of the thread (GET /rooms/{id}/threads/{seq}): the root and replies, held beside the log. */
  putThread(page, complete) {
    const result = this.putMessages([page.root, ...page.items], { log: false });
    if (complete) this.threadsLoaded.add(page.root.seq);
    return result;
  }

  // --- pins ---------------------------------------------------------------------------

  /** GET /rooms/{id}/pins: the pinned messages, most recently pinned first, as of `streamSeq`.
   * Pins made since come with their own entry's seq, above these. */
  putPins(items, streamSeq) {
    const result = this.putMessages(items, { log: false });
    items.forEach((message, index) => this.pinKeys.set(message.seq, streamSeq - (index + 1) / (items.length + 1)));
    return result;
  }

  /** The pinned messages held, most recently pinned first. */
  pinned() {
    const key = (m) => this.pinKeys.get(m.seq) ?? Number.NEGATIVE_INFINITY;
    return [...this.messages.values()].filter((m) => m.pinned).sort((a, b) => key(b) - key(a) || b.seq - a.seq);
  }

  // --- the log's window ---------------------------------------------------------------

  /** Take the window of older history below the hole out of the log (another one is
   * opened). Its messages stay held: entries keep them current, and a pinned one stays listed. */
  dropWindow() {
    if (!this.hole) return;
    this.seqs = this.seqs.slice(insertionIndex(this.seqs, this.hole.before));
    this.hole = null;
  }
}

/** Nothing to redraw: the same entry made both. */
function sameState(incoming, held) {
  return (incoming.updated_seq ?? incoming.seq) === held.updated_seq && Boolean(incoming.deleted) === held.deleted;
}
