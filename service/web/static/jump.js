// Opening a room at one message (a search result): the message must be held to be shown.
// One not far below the oldest message held is reached by paging the history down to it;
// one further back gets a window of its own, the messages around it, with a hole above
// (room-state.js) that the log offers to page until the window meets the rest.
// Opening a room whose first unread message is older than the socket's replay held pages
// down to it the same way, for the "new messages" line (unread-line.js).

import { ApiError, SignedOut } from "./api.js";
import { errorText } from "./actions.js";

const NEAR = 100; // seqs below the oldest held: paged down to, in one request
const AROUND = 25; // messages on either side of a far one
const HOLE_PAGE = 100;
const SYNCED_WITHIN_MS = 15_000;
const GONE = "That message is not in this room any more.";

export class Jumper {
  constructor(auth, state) {
    this.auth = auth;
    this.state = state;
    this.waiting = []; // {roomId, resolve}: rooms to be live (synced) before their history is paged
    this.reaching = null; // the room whose first unread message is being paged in
    state.onChange((what, roomId, detail) => {
      if (what === "unread-line") this.#reachUnread(roomId, detail);
      if (!this.waiting.length) return;
      const ready = this.waiting.filter((w) => this.state.rooms.get(w.roomId)?.synced);
      this.waiting = this.waiting.filter((w) => !ready.includes(w));
      ready.forEach((w) => w.resolve(true));
    });
  }

  /** Hold the message `seq` of the room; "" when it is held, else why not. */
  async reveal(roomId, seq) {
    if (!(await this.#synced(roomId))) return "The room could not be opened there; try again.";
    let room = this.state.rooms.get(roomId);
    if (!room) return GONE;
    if (room.inLog(seq)) return "";
    if (room.hole && seq < room.hole.before) room.dropWindow(); // one window at a time
    const oldest = room.oldestSeq;
    if (seq >= oldest) return GONE; // deleted for good since it was found
    const base = `/rooms/${roomId}/messages`;
    try {
      if (oldest - seq <= NEAR) {
        const page = await this.auth.request("GET", `${base}?before_seq=${oldest}&limit=${oldest - seq + AROUND}`);
        this.state.addMessages(roomId, page.items);
      } else {
        const [before, after] = await Promise.all([
          this.auth.request("GET", `${base}?before_seq=${seq + 1}&limit=${AROUND + 1}`),
          this.auth.request("GET", `${base}?after_seq=${seq}&limit=${AROUND}`),
        ]);
        room = this.state.rooms.get(roomId);
        if (!room) return GONE;
        room.openWindow(seq, after); // another jump's window above it is dropped
        this.state.addMessages(roomId, [...before.items, ...after.items]);
      }
    } catch (error) {
      if (error instanceof SignedOut) return "";
      if (error instanceof ApiError && error.status === 404) return "That room cannot be read any more.";
      return `The messages around it could not be loaded: ${errorText(error)}`;
    }
    return this.state.rooms.get(roomId)?.inLog(seq) ? "" : GONE;
  }

  /** Page the hole above the window, from its bottom; "" when done, else an error text. */
  async fillHole(roomId) {
    const room = this.state.rooms.get(roomId);
    const hole = room && room.hole;
    if (!hole) return "";
    let page;
    try {
      page = await this.auth.request("GET", `/rooms/${roomId}/messages?after_seq=${hole.after}&limit=${HOLE_PAGE}`);
    } catch (error) {
      return error instanceof SignedOut ? "" : errorText(error);
    }
    if (room.holePaged(hole, page)) this.state.addMessages(roomId, page.items); // else dropped or paged meanwhile
    return "";
  }

  /** The line stands above the first message after `after`: held, or paged in, then placed again. */
  async #reachUnread(roomId, after) {
    const room = this.state.rooms.get(roomId);
    if (!room || after === null || after + 1 >= room.oldestSeq || this.reaching === roomId) return;
    this.reaching = roomId;
    await this.reveal(roomId, after + 1); // the first unread seq may be an edit's or a reaction's: no message
    this.reaching = null;
    const reached = after + 1 >= (this.state.rooms.get(roomId)?.oldestSeq ?? Infinity);
    if (reached) this.state.changed("unread-line", roomId, after);
  }

  #synced(roomId) {
    if (this.state.rooms.get(roomId)?.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { roomId, resolve };
      this.waiting.push(waiter);
      setTimeout(() => {
        if (!this.waiting.includes(waiter)) return;
        this.waiting = this.waiting.filter((w) => w !== waiter);
        resolve(false);
      }, SYNCED_WITHIN_MS);
    });
  }
}
