// The rooms to list: the user's own (GET /users/me/rooms, every page: read markers,
// unread counts, the most recently active first) and the public rooms they may join (GET /rooms).
// The counts are asked again, debounced, whenever the page cannot work them out from
// what it holds (the state's "recount"), and after every reconnect, since read frames
// sent while the socket was down are not replayed. A failure is kept as the lists'
// `problem` (shown by background-notes.js) until a later load or recount goes through.

import { SignedOut } from "./api.js";
import { errorText } from "./actions.js";

const RECOUNT_AFTER_MS = 250;
const MY_ROOMS_PAGE = 500; // the most the server gives at once

export class Directory {
  /** hooks: mine(roomIds) the user's rooms, to follow; lost(roomIds) no longer theirs. */
  constructor(auth, state, hooks) {
    this.auth = auth;
    this.state = state;
    this.hooks = hooks;
    this.timer = 0;
    this.problem = ""; // why the last load or recount failed ("" when it went through)
    this.failing = null; // what failed: "lists" | "counts" | null
    this.listeners = [];
    state.onChange((what) => {
      if (what === "recount") this.recount();
    });
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  /** Both lists (a failure becomes the problem). */
  load() {
    return this.#settle("lists", () => Promise.all([this.#mine(), this.#listed()]));
  }

  /** The user's rooms and counts again, soon (several asks make one request). */
  recount() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.#recountNow();
    }, RECOUNT_AFTER_MS);
  }

  /** What failed last, asked again now. */
  retry() {
    return this.failing === "counts" ? this.#recountNow() : this.load();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.#problem(null, "");
  }

  #recountNow() {
    return this.#settle("counts", () => this.#mine());
  }

  /** Runs `work`; a failure is the problem, a success clears it (a recount leaves the lists'). */
  async #settle(kind, work) {
    try {
      await work();
      if (kind === "lists" || this.failing === "counts") this.#problem(null, "");
    } catch (error) {
      if (error instanceof SignedOut) return;
      const what = kind === "lists" ? "Rooms could not be loaded" : "Unread counts could not be refreshed";
      if (kind === "lists" || this.failing !== "lists") this.#problem(kind, `${what}: ${errorText(error)}`);
    }
  }

  #problem(kind, text) {
    if (this.problem === text) return;
    this.failing = kind;
    this.problem = text;
    for (const listener of this.listeners) listener();
  }

  async #mine() {
    const generation = this.state.generation; // memberships granted after this stay
    const items = await this.#allMine();
    const { mine, lost } = this.state.setMyRooms(items, generation);
    this.hooks.mine(mine);
    if (lost.length) this.hooks.lost(lost);
  }

  /** Every page of GET /users/me/rooms, as one list in its order. */
  async #allMine() {
    const path = `/users/me/rooms?limit=${MY_ROOMS_PAGE}`;
    let page = await this.auth.request("GET", path);
    if (!page.has_more) return page.items;
    const items = [...page.items];
    while (page.has_more) {
      page = await this.auth.request("GET", `${path}&before=${encodeURIComponent(page.next_before)}`);
      items.push(...page.items);
    }
    // Pages are not one snapshot: a room active while they loaded moved above the
    // cursor and is on none of them, and would look left. It is among the newest
    // now, so the first page asked again has it; its rooms go first, once.
    const fresh = (await this.auth.request("GET", path)).items;
    const seen = new Set(fresh.map((item) => item.room.id));
    return fresh.concat(items.filter((item) => !seen.has(item.room.id)));
  }

  async #listed() {
    const page = await this.auth.request("GET", "/rooms?limit=200");
    this.state.setListedRooms(page.items);
  }
}
