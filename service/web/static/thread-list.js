// The threads the user follows (GET /users/me/threads, the first page: the most recently
// replied first), with their unread replies and mentions. Asked again, debounced, when a
// reply arrives in one of the user's rooms (it may start or raise a thread of theirs),
// when a thread's marker moves, and after a reconnect; a thread read here is shown read at once.
// A failed load is kept as the list's `problem` (background-notes.js shows it) until one goes through.

import { SignedOut } from "./api.js";
import { errorText } from "./actions.js";

const REFRESH_AFTER_MS = 300;
const PAGE = 50;

export class ThreadList {
  constructor(auth, state) {
    this.auth = auth;
    this.state = state;
    this.items = []; // [{room_id, root: Message, last_read_seq, unread, mentions}]
    this.loaded = false;
    this.problem = ""; // why the last load failed; "" when it went through
    this.listeners = [];
    this.timer = 0;
    state.onChange((what, roomId) => {
      if (what === "replies" && state.rooms.get(roomId)?.member) this.refresh();
    });
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  #changed() {
    for (const listener of this.listeners) listener();
  }

  /** The list now (a failure becomes the problem). */
  async load() {
    try {
      const page = await this.auth.request("GET", `/users/me/threads?limit=${PAGE}`);
      this.items = page.items;
      this.loaded = true;
      this.problem = "";
    } catch (error) {
      if (error instanceof SignedOut) return;
      this.problem = `Threads could not be loaded: ${errorText(error)}`;
    }
    this.#changed();
  }

  /** The list again, soon (several asks make one request). */
  refresh() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.load();
    }, REFRESH_AFTER_MS);
  }

  /** The user read the thread up to `seq` (here or on another device). */
  read(roomId, root, seq) {
    const item = this.items.find((i) => i.room_id === roomId && i.root.seq === root);
    if (item && seq > item.last_read_seq) {
      item.last_read_seq = seq;
      item.unread = 0; // replies above the marker come with a refresh
      item.mentions = 0;
      this.#changed();
    }
    this.refresh();
  }

  /** Threads with replies the user has not read. */
  get unread() {
    return this.items.filter((item) => item.unread > 0);
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.items = [];
    this.loaded = false;
    this.problem = "";
    this.#changed();
  }
}
