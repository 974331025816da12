// New messages of others read out by screen readers: "<author>: <text>" added to one polite
// live region (#announcer) as each arrives live in the open room, or in its open thread.
// The log itself is no live region, so a redraw, a page of history or a (re)connect's
// replay is never read out again; nor are the user's own messages. Other views say
// through it what failed where they show it (announce).

import { $, el } from "./dom.js";
import { bodyNode } from "./message-body.js";

const KEPT = 5; // announcements left in the region; older ones go (removals are not read out)
const SPOKEN_CHARS = 300;

/** A body's words as the page shows them: its Markdown read as text, not as symbols. */
function plain(body) {
  const node = bodyNode(body, () => null);
  for (const block of node.querySelectorAll("p, li, pre")) block.append(" ");
  return node.textContent.replace(/\s+/g, " ").trim();
}

/** `text` read out by screen readers, politely (the region keeps the last few). */
export function announce(text) {
  const region = $("announcer");
  region.append(el("p", "", text));
  while (region.childElementCount > KEPT) region.firstElementChild.remove();
}

/** What a screen reader says for `message` (a reply when `inThread`). */
export function spoken(message, inThread = false) {
  const author = message.user.username;
  const files = message.files ?? [];
  let text = message.body ? plain(message.body) : "";
  if (!text && files.length) text = files.length === 1 ? `sent ${files[0].filename ?? "a file"}` : `sent ${files.length} files`;
  else if (files.length) text += ` (${files.length === 1 ? "1 file" : `${files.length} files`})`;
  if (text.length > SPOKEN_CHARS) text = `${text.slice(0, SPOKEN_CHARS - 1)}…`;
  return `${author}${inThread ? " replied" : ""}: ${text}`;
}

export class Announcer {
  /** openThread() → {roomId, root} of the thread pane, or null */
  constructor(state, openThread) {
    this.state = state;
    this.openThread = openThread;
    this.heard = new Map(); // room id → the highest seq of its stream already live (or replayed) here
    state.onChange((what, roomId, detail) => {
      if (what === "room") this.#synced(roomId);
      else if (what === "messages") this.#arrived(roomId, this.#newMessages(roomId));
      else if (what === "replies") this.#arrived(roomId, detail ?? []);
      else if (what === "rooms" && !state.me) this.#forget(); // signed out
    });
  }

  /** Once a room is synced, what its replay held is the past: only later seqs are news. */
  #synced(roomId) {
    const room = this.state.rooms.get(roomId);
    if (room?.synced) this.heard.set(roomId, Math.max(this.heard.get(roomId) ?? 0, room.streamSeq));
  }

  #newMessages(roomId) {
    const room = this.state.rooms.get(roomId);
    const since = this.heard.get(roomId);
    if (!room || since === undefined) return [];
    const found = [];
    for (let i = room.seqs.length - 1; i >= 0 && room.seqs[i] > since; i -= 1) found.unshift(room.messages.get(room.seqs[i]));
    return found;
  }

  #arrived(roomId, messages) {
    const room = this.state.rooms.get(roomId);
    const since = this.heard.get(roomId);
    if (!room || since === undefined) return; // not synced yet: a replay
    const fresh = messages.filter((message) => message && message.seq > since);
    if (!fresh.length) return;
    this.heard.set(roomId, Math.max(since, ...fresh.map((message) => message.seq)));
    if (!room.synced || roomId !== this.state.currentId || $("view-room").hidden) return;
    const me = this.state.me?.id;
    const thread = this.openThread();
    for (const message of fresh) {
      if (message.user.id === me || message.deleted) continue;
      const reply = message.thread_seq != null;
      if (reply && (thread?.roomId !== roomId || thread.root !== message.thread_seq)) continue;
      announce(spoken(message, reply));
    }
  }

  #forget() {
    this.heard.clear();
    $("announcer").replaceChildren(); // what another user was told stays with them
  }
}
