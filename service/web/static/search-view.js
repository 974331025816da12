// The search box in the top bar and its results below it: author, room, time and text
// of each match, newest first, "More results" while there are more. Enter searches,
// Escape closes the results; a result opens its room at that message. "Only in <room>"
// limits the search to the open room. It renders what it is given and sends intents.

import { errorText } from "./actions.js";
import { ApiError, SignedOut } from "./api.js";
import { $, el } from "./dom.js";
import { roomLabel } from "./names.js";

function count(n, what) {
  return `${n} ${what}${n === 1 ? "" : "es"}`;
}

export class SearchView {
  /** intents: search(q, {roomId, beforeId}) → Promise<{items, has_more, rooms}> (search.js), open(message) */
  constructor(state, intents) {
    this.state = state;
    this.intents = intents;
    this.query = null; // {q, roomId} of the results shown
    this.items = [];
    this.asked = 0; // the latest request: answers to older ones are dropped
    const panel = $("search-panel");
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#run();
    });
    $("search-input").addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !panel.hidden) {
        event.preventDefault(); // the text stays, to search again
        this.close(false);
      }
    });
    panel.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      this.close(true);
    });
    $("search-close").addEventListener("click", () => this.close(true));
    $("search-more").addEventListener("click", () => this.#more());
    $("search-here").addEventListener("change", () => {
      if (this.query) this.#run();
    });
    document.addEventListener("pointerdown", (event) => {
      if (!panel.hidden && !panel.contains(event.target) && !$("search-form").contains(event.target)) this.close(false);
    });
    state.onChange((what) => {
      if (what === "current" || what === "rooms") this.#renderScope();
    });
  }

  /** Signed in: the search box is there; signed out, it is gone with its results. */
  enable(signedIn) {
    $("search-form").hidden = !signedIn;
    if (!signedIn) {
      this.close(false);
      $("search-input").value = "";
      $("search-here").checked = false;
      this.#clear();
    }
  }

  /** Close the results; `refocus`: back in the search box. */
  close(refocus) {
    $("search-panel").hidden = true;
    if (refocus) $("search-input").focus();
  }

  #open() {
    this.#renderScope();
    $("search-panel").hidden = false;
  }

  #clear() {
    this.query = null;
    this.items = [];
    $("search-results").replaceChildren();
    $("search-more").hidden = true;
    $("search-status").textContent = "";
  }

  #renderScope() {
    const room = this.state.current;
    $("search-scope").hidden = !room;
    $("search-here-name").textContent = room ? roomLabel(room.room, this.state.me) : "";
  }

  async #run() {
    const q = $("search-input").value;
    this.#clear();
    this.#open();
    if (!q.trim()) {
      $("search-status").textContent = "Type a word to search for.";
      return;
    }
    const room = $("search-here").checked ? this.state.current : null;
    this.query = { q, roomId: room ? room.room.id : null, where: room ? ` in ${roomLabel(room.room, this.state.me)}` : "" };
    await this.#page(null);
  }

  async #more() {
    const last = this.items[this.items.length - 1];
    if (!this.query || !last) return;
    const shown = this.items.length;
    $("search-more").disabled = true;
    await this.#page(last.id);
    $("search-more").disabled = false;
    const first = $("search-results").children[shown];
    if (first) first.querySelector("button").focus(); // the keyboard goes on with what came
  }

  async #page(beforeId) {
    const query = this.query;
    const asked = ++this.asked;
    $("search-status").textContent = "Searching…";
    let page;
    try {
      page = await this.intents.search(query.q, { roomId: query.roomId, beforeId });
    } catch (error) {
      if (asked !== this.asked) return;
      $("search-status").textContent = error instanceof SignedOut ? "" : searchFailure(error);
      return;
    }
    if (asked !== this.asked) return;
    this.items.push(...page.items);
    $("search-results").append(...page.items.map((message) => this.#result(message, page.rooms.get(message.room_id))));
    $("search-more").hidden = !page.has_more;
    const n = this.items.length;
    const where = query.where;
    if (!n) $("search-status").textContent = `No messages match “${query.q}”${where}.`;
    else $("search-status").textContent = `${count(n, "match")}${where}${page.has_more ? ", more below" : ""}.`;
  }

  #result(message, room) {
    const button = el("button", "search-result");
    button.type = "button";
    const meta = el("span", "result-meta");
    const when = new Date(message.created_at);
    const time = el("time", "", when.toLocaleString([], { dateStyle: "medium", timeStyle: "short" }));
    time.dateTime = message.created_at;
    const place = room ? `${room.direct ? "with" : "in"} ${room.name}` : "";
    meta.append(el("span", "result-author", message.user.username), el("span", "result-room", place), time);
    button.append(meta, el("span", "result-body", message.body ?? ""));
    // Names only (text): a result is one button, so its files' own buttons live in the room.
    const files = message.files ?? [];
    if (files.length) button.append(el("span", "result-files", `Files: ${files.map((f) => f.filename).join(", ")}`));
    button.addEventListener("click", () => {
      this.close(false);
      this.intents.open(message);
    });
    const item = el("li");
    item.dataset.roomId = String(message.room_id);
    item.dataset.seq = String(message.seq);
    item.append(button);
    return item;
  }
}

// A query the server refuses (too many terms, a one-letter prefix) is the user's to
// change, not a failure.
function searchFailure(error) {
  if (error instanceof ApiError && error.status === 422) {
    return `Cannot search for that: ${error.message.replace(/^q: /, "")}`;
  }
  return `The search failed: ${errorText(error)}`;
}
