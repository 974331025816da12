// Usernames offered while one is typed (adding a member, starting a conversation): the
// field's <datalist> lists the users whose names start with what is typed (GET /users,
// ignoring case), asked after a short pause and only for the latest text. A refusal
// (too many lookups: 429) leaves the list as it was; typing the whole name still works.

import { $, el } from "./dom.js";

const ASK_AFTER_MS = 200;
const MAX_PREFIX = 32;
const LIMIT = 10;

export class UserSearch {
  /** input: the username field; listId: its <datalist>; lookup(prefix) → Promise<[User]> */
  constructor(input, listId, lookup) {
    this.input = input;
    this.list = $(listId);
    this.lookup = lookup;
    this.timer = 0;
    this.asked = ""; // the prefix of the latest request
    input.setAttribute("list", listId);
    input.addEventListener("input", () => this.#typed());
  }

  #typed() {
    clearTimeout(this.timer);
    const prefix = this.input.value.trim();
    if (!prefix || prefix.length > MAX_PREFIX) return this.list.replaceChildren();
    this.timer = setTimeout(() => this.#ask(prefix), ASK_AFTER_MS);
  }

  async #ask(prefix) {
    this.asked = prefix;
    let users;
    try {
      users = await this.lookup(prefix, LIMIT);
    } catch {
      return; // the list stays as it was
    }
    if (this.asked !== prefix || this.input.value.trim() !== prefix) return; // typed on meanwhile
    this.list.replaceChildren(
      ...users.map((user) => {
        const option = el("option");
        option.value = user.username;
        return option;
      }),
    );
  }
}
