// The sidebar's threads: those the user follows, the most recently replied first, each
// with its root's text and room, its unread replies and mentions of the user. Selecting
// one opens its room with the thread beside it. It renders ThreadList and sends intents.

import { $, el } from "./dom.js";
import { roomLabel } from "./names.js";

const SHOWN = 10;
const EXCERPT = 60;

function excerpt(message) {
  if (message.deleted) return "message deleted";
  const text = (message.body ?? "").replace(/\s+/g, " ").trim();
  return text.length > EXCERPT ? `${text.slice(0, EXCERPT - 1)}…` : text;
}

export class ThreadsView {
  /** intents: open(roomId, rootSeq) */
  constructor(state, threads, intents) {
    this.state = state;
    this.threads = threads;
    this.intents = intents;
    threads.onChange(() => this.render());
    state.onChange((what) => {
      if (what === "rooms") this.render(); // room names
    });
  }

  render() {
    const items = this.threads.items.slice(0, SHOWN).map((thread) => this.#item(thread));
    const focused = $("thread-list").contains(document.activeElement) ? document.activeElement.dataset.key : null;
    $("thread-list").replaceChildren(...items);
    if (focused) $("thread-list").querySelector(`[data-key="${focused}"]`)?.focus();
    $("threads-empty").hidden = items.length > 0;
  }

  #item(thread) {
    const room = this.state.rooms.get(thread.room_id);
    const button = el("button", "room-open thread-open");
    button.type = "button";
    button.dataset.key = `${thread.room_id}-${thread.root.seq}`;
    const text = el("span", "room-name");
    text.append(el("span", "thread-excerpt", excerpt(thread.root)));
    if (room) text.append(el("span", "thread-room muted", roomLabel(room.room, this.state.me)));
    button.append(text);
    if (thread.mentions) {
      const badge = el("span", "mention-count", `@${thread.mentions}`);
      badge.title = `${thread.mentions} mentioning you`;
      button.append(badge);
    }
    if (thread.unread) {
      const badge = el("span", "unread", String(thread.unread));
      badge.title = `${thread.unread} unread`;
      button.append(badge, el("span", "visually-hidden", thread.unread === 1 ? " unread reply" : " unread replies"));
    }
    button.classList.toggle("has-unread", thread.unread > 0);
    button.addEventListener("click", () => this.intents.open(thread.room_id, thread.root.seq));
    const item = el("li");
    item.dataset.roomId = String(thread.room_id);
    item.dataset.root = String(thread.root.seq);
    item.append(button);
    return item;
  }
}
