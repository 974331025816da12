// What a truncated replay skipped, paged over REST (RoomActions.pageGap). A window that
// could not be paged is kept per room, so the room says so (background-notes.js), and is
// asked again on Retry and after the next reconnect (the cursor has moved past it: no
// replay brings it back). No DOM here.

import { SignedOut } from "./api.js";
import { errorText } from "./actions.js";

export class MissedPages {
  /** actions: {pageGap(roomId, afterSeq, beforeSeq) → Promise} */
  constructor(actions) {
    this.actions = actions;
    this.failed = new Map(); // room id → {after, before, text}
    this.listeners = [];
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  /** Why the room's missed messages are not shown, or "". */
  problem(roomId) {
    return this.failed.get(roomId)?.text ?? "";
  }

  /** Page the window (afterSeq, beforeSeq) of the room, joined to any that failed before. */
  async page(roomId, afterSeq, beforeSeq) {
    const old = this.failed.get(roomId);
    const after = Math.min(afterSeq, old?.after ?? afterSeq);
    const before = Math.max(beforeSeq, old?.before ?? beforeSeq);
    try {
      await this.actions.pageGap(roomId, after, before);
      if (this.failed.delete(roomId)) this.#changed();
    } catch (error) {
      if (error instanceof SignedOut) return;
      this.failed.set(roomId, { after, before, text: `Missed messages could not be loaded: ${errorText(error)}` });
      this.#changed();
    }
  }

  /** The room's failed window, asked again. */
  retry(roomId) {
    const window = this.failed.get(roomId);
    return window ? this.page(roomId, window.after, window.before) : Promise.resolve();
  }

  /** Every failed window, asked again (after a reconnect). */
  retryAll() {
    return Promise.all([...this.failed.keys()].map((roomId) => this.retry(roomId)));
  }

  reset() {
    this.failed.clear();
    this.#changed();
  }

  #changed() {
    for (const listener of this.listeners) listener();
  }
}
