// Where the "new messages" line goes: above the first message the user had not read when
// they opened the room. The read marker moves as soon as the room is seen (reading.js),
// so the place is taken just before that, once a visit, and kept while they read on; and
// again when they come back to the page and messages came while they were away.

import { insertionIndex } from "./message-store.js";

/** The seq of the first message of the log held above `after` that counts as unread
 * (someone else's, not deleted), or null. */
export function firstUnread(room, after) {
  for (let i = insertionIndex(room.seqs, after + 1); i < room.seqs.length; i += 1) {
    const message = room.messages.get(room.seqs[i]);
    if (message && !message.deleted && message.user.id !== room.meId) return message.seq;
  }
  return null;
}

export class UnreadLine {
  constructor(state) {
    this.state = state;
    this.roomId = null; // the room of this visit
    this.after = undefined; // the marker when the visit began; null: nothing was unread; undefined: not known yet
    state.onChange((what, roomId) => {
      if (what !== "current") return;
      this.roomId = roomId;
      this.after = undefined;
    });
  }

  /** The room is about to be seen: the first time this visit, where its marker is;
   * `back` (to the page, from elsewhere): where it is if anything came meanwhile. */
  capture(roomId, back = false) {
    if (roomId !== this.roomId || (this.after !== undefined && !back)) return;
    const room = this.state.rooms.get(roomId);
    if (!room || !room.member || !room.synced || room.marker === null) return;
    if (this.after !== undefined && room.unread === 0) return; // nothing new: the line stays
    this.after = room.unread > 0 ? room.marker : null;
    if (this.after !== null) this.state.changed("unread-line", roomId, this.after); // jump.js pages down to it
  }

  /** The seq of the message the line is above in `room`, or null. */
  seq(room) {
    if (!room || room.room.id !== this.roomId || this.after === undefined || this.after === null) return null;
    return firstUnread(room, this.after);
  }
}
