// Usernames offered while one is typed (adding a member, starting a conversation): the
// field's <datalist> lists the users whose names start with what is typed (GET /users,
// ignoring case), asked after a short pause and only for the latest text. A failure (too
// many lookups: 429, or no network) leaves the list as it was and says so under the field
// (failure-note.js) until a lookup goes through: the next text typed, or Retry; typing
// the whole name still works meanwhile.

import { errorText } from "./actions.js";
import { SignedOut } from "./api.js";
import { $, el } from "./dom.js";
import { FailureNote } from "./failure-note.js";

const ASK_AFTER_MS = 200;
const MAX_PREFIX = 32;
const LIMIT = 10;

export class UserSearch {
  /** input: the username field; listId: its <datalist> (its note: `${listId}-problem`);
   * lookup(prefix) → Promise<[User]> */
  constructor(input, listId, lookup) {
    this.input = input;
    this.list = $(listId);
    this.lookup = lookup;
    this.timer = 0;
    this.asked = ""; // the prefix of the latest request
    this.note = new FailureNote($(`${listId}-problem`), () => this.#ask(this.input.value.trim()), () => input);
    input.setAttribute("list", listId);
    input.addEventListener("input", () => this.#typed());
  }

  #typed() {
    clearTimeout(this.timer);
    const prefix = this.input.value.trim();
    if (!prefix || prefix.length > MAX_PREFIX) {
      this.note.render(""); // nothing to look up
      return this.list.replaceChildren();
    }
    this.timer = setTimeout(() => this.#ask(prefix), ASK_AFTER_MS);
  }

  async #ask(prefix) {
    if (!prefix || prefix.length > MAX_PREFIX) return;
    this.asked = prefix;
    let users;
    try {
      users = await this.lookup(prefix, LIMIT);
    } catch (error) {
      // The list stays as it was; why, unless a later lookup is out.
      if (this.asked === prefix && !(error instanceof SignedOut)) {
        this.note.render(`Names could not be looked up: ${errorText(error)}`);
      }
      return;
    }
    if (this.asked !== prefix || this.input.value.trim() !== prefix) return; // typed on meanwhile
    this.note.render("");
    this.list.replaceChildren(
      ...users.map((user) => {
        const option = el("option");
        option.value = user.username;
        return option;
      }),
    );
  }
}
