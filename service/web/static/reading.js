// Clear as you read: the open room's messages count as seen while the page is visible
// and has focus. What is seen moves the read marker here at once, and goes to the
// server as one `read` frame per room after a short pause, not one per message; the
// server tells the user's other devices. Where the marker was when the room was opened
// is kept first, for the "new messages" line (unread-line.js).

import { UnreadLine } from "./unread-line.js";

const READ_AFTER_MS = 400;
const LOOK_ON = new Set(["messages", "room", "current"]); // the open room got news, went live, or opened

export class ReadTracker {
  /** socket(): the page's ChatSocket, or null while signed out. */
  constructor(state, socket) {
    this.state = state;
    this.socket = socket;
    this.due = new Map(); // room id → seq to report
    this.timer = 0;
    this.line = new UnreadLine(state); // before the listener below: it learns of a new visit first
    state.onChange((what, roomId) => {
      if (roomId !== null && roomId === state.currentId && LOOK_ON.has(what)) this.look();
    });
    this.away = false; // the user looked elsewhere since the open room was last seen
    window.addEventListener("focus", () => this.look());
    window.addEventListener("blur", () => (this.away = true));
    document.addEventListener("visibilitychange", () => this.look());
  }

  /** Is the user looking at the page? */
  get seeing() {
    return document.visibilityState === "visible" && document.hasFocus();
  }

  /** Whatever the open room holds is seen now, if the user is looking. */
  look() {
    const roomId = this.state.currentId;
    if (!this.seeing) this.away = true;
    if (roomId === null || !this.seeing) return;
    this.line.capture(roomId, this.away);
    this.away = false;
    const seq = this.state.markSeen(roomId);
    if (seq === null) return;
    this.due.set(roomId, Math.max(seq, this.due.get(roomId) ?? 0));
    if (!this.timer) this.timer = setTimeout(() => this.flush(), READ_AFTER_MS);
  }

  /** Send what is due; a room not live now is sent when it is (the app calls this on synced). */
  flush() {
    clearTimeout(this.timer);
    this.timer = 0;
    const socket = this.socket();
    for (const [roomId, seq] of this.due) {
      const room = this.state.rooms.get(roomId);
      if (!room || !room.member || (socket && socket.read(roomId, seq))) this.due.delete(roomId);
    }
  }

  reset() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.due.clear();
  }
}
