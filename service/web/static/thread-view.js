// The thread pane beside the open room: a message (the root), its replies in seq order,
// the user's replies on their way, and a composer whose messages are replies in it.
// Replies, edits, deletes and reactions arrive live (the room's stream); the whole thread
// is paged in over REST when it opens. While the pane is in view, its replies count as
// read: the thread's marker moves (a `read` frame with `thread`).
// It renders ChatState and sends intents; it fetches nothing itself.

import { $ } from "./dom.js";
import { isAtEnd, scrollToEnd } from "./log-scroll.js";
import { MentionInput } from "./mention-input.js";
import { MessageControls } from "./message-controls.js";
import { messageItem, messageOptions } from "./message-item.js";
import { handleMessageButtons } from "./message-tools.js";
import { pendingItems } from "./pending-items.js";

export class ThreadView {
  /** intents: load(roomId, root) → Promise<error text>, reply(roomId, root, body), discard(clientMsgId),
   * read(roomId, root, seq) → false when not live, closed(), edit(seq, body), remove(seq), react(seq, emoji, add), pin(seq, on)
   * (each → Promise<error text>); picker: the page's ReactionPicker */
  constructor(state, intents, picker) {
    this.state = state;
    this.intents = intents;
    this.roomId = null;
    this.root = null; // the root's seq; null: closed
    this.rendered = []; // reply seqs shown, ascending
    this.reported = new Map(); // "room:root" → the highest reply seq reported read
    const replies = $("thread-replies");
    const view = {
      message: (seq) => this.#room()?.messages.get(seq),
      redraw: (seq, focus) => this.#redraw(seq, focus),
      meId: () => state.me?.id ?? null,
      settled: (seq, text) => this.controls.settled(seq, text), // a reaction or pin: on the message
    };
    this.controls = new MessageControls(replies, intents, view);
    const buttons = { ...intents, openThread: () => {} }; // Reply is not offered in a thread
    for (const list of [replies, $("thread-root")]) handleMessageButtons(list, picker, buttons, view);
    new MentionInput($("thread-input"), () => this.#room()?.members ?? [], view.meId);
    $("thread-close").addEventListener("click", () => this.close(true));
    $("thread-pane").addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.defaultPrevented && !event.target.classList.contains("edit-input")) {
        this.close(true);
      }
    });
    $("thread-composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("thread-input");
      if (!input.value.trim() || this.root === null) return;
      intents.reply(this.roomId, this.root, input.value);
      input.value = "";
      input.focus();
    });
    state.onChange((what, roomId, detail) => this.#changed(what, roomId, detail));
    window.addEventListener("focus", () => this.#look());
    document.addEventListener("visibilitychange", () => this.#look());
  }

  get isOpen() {
    return this.root !== null;
  }

  /** Open the thread of `root` in the open room (paged in if not held whole). */
  async open(roomId, root) {
    const same = this.roomId === roomId && this.root === root;
    this.roomId = roomId;
    this.root = root;
    $("thread-pane").hidden = false;
    if (!same) {
      $("thread-input").value = "";
      $("thread-status").textContent = "";
      this.controls.reset();
    }
    this.#renderAll();
    $("thread-heading").focus();
    const room = this.#room();
    if (room && !room.threadsLoaded.has(root)) {
      $("thread-status").textContent = "Loading the thread…";
      const text = await this.intents.load(roomId, root);
      if (this.root !== root || this.roomId !== roomId) return;
      $("thread-status").textContent = text;
      this.#renderAll();
    }
  }

  /** `refocus`: back to the message input of the room. */
  close(refocus = false) {
    if (this.root === null) return;
    this.root = null;
    this.rendered = [];
    $("thread-pane").hidden = true;
    this.intents.closed();
    if (refocus) $("message-input").focus();
  }

  #room() {
    return this.roomId === null ? null : (this.state.rooms.get(this.roomId) ?? null);
  }

  #changed(what, roomId, detail) {
    if (this.root === null) return;
    if (what === "current" && roomId !== this.roomId) return this.close();
    if (roomId !== this.roomId) return;
    if (what === "replies" && detail.some((m) => m.thread_seq === this.root)) this.#renderNew();
    else if (what === "updated") {
      for (const seq of detail) if (seq === this.root || this.rendered.includes(seq)) this.#redraw(seq);
    } else if (what === "pending") this.#renderPending();
    else if (what === "members" || (what === "thread" && detail === this.root)) this.#renderAll();
    else if (what === "room" && !this.#room()?.messages.size) this.close(); // its messages were forgotten
    else if (what === "room") this.#look(); // live again: a read that could not go, goes
  }

  #item(message, isRoot) {
    const options = { ...messageOptions(this.state, message), canReply: false, ...this.controls.of(message.seq) };
    if (isRoot) Object.assign(options, { canEdit: false, canDelete: false, mode: "" });
    const item = messageItem(message, options);
    item.dataset.seq = String(message.seq);
    return item;
  }

  #renderAll() {
    const room = this.#room();
    const root = room?.messages.get(this.root);
    $("thread-root").replaceChildren(...(root ? [this.#item(root, true)] : []));
    this.#renderCount();
    const replies = room ? room.replies(this.root) : [];
    this.rendered = replies.map((m) => m.seq);
    $("thread-replies").replaceChildren(...replies.map((m) => this.#item(m, false)));
    this.#renderPending();
    scrollToEnd($("thread-scroll"));
    this.#look();
  }

  #renderCount() {
    const root = this.#room()?.messages.get(this.root);
    const n = root ? root.reply_count : 0;
    $("thread-count").textContent = root ? `${n} ${n === 1 ? "reply" : "replies"}` : "";
  }

  /** New replies at the end are appended; one in between redraws the thread. */
  #renderNew() {
    const replies = this.#room().replies(this.root);
    const last = this.rendered.length ? this.rendered[this.rendered.length - 1] : 0;
    const fresh = replies.filter((m) => !this.rendered.includes(m.seq));
    if (fresh.some((m) => m.seq < last)) return this.#renderAll();
    const atEnd = isAtEnd($("thread-scroll"));
    $("thread-replies").append(...fresh.map((m) => this.#item(m, false)));
    this.rendered.push(...fresh.map((m) => m.seq));
    if (atEnd) scrollToEnd($("thread-scroll"));
    this.#look();
  }

  #redraw(seq, focus = null) {
    const message = this.#room()?.messages.get(seq);
    if (!message) return;
    const isRoot = seq === this.root;
    if (isRoot) this.#renderCount();
    else if (!focus && !this.controls.changed(message)) return; // the editor keeps what the user typed
    const old = $(isRoot ? "thread-root" : "thread-replies").querySelector(`li[data-seq="${Number(seq)}"]`);
    if (!old) {
      if (isRoot) $("thread-root").replaceChildren(this.#item(message, true));
      return;
    }
    const hadFocus = old.contains(document.activeElement);
    const action = hadFocus ? document.activeElement.dataset.action : undefined;
    const item = this.#item(message, isRoot);
    old.replaceWith(item);
    const target = focus ?? (action ? `[data-action="${action}"]` : null);
    const node = target ? item.querySelector(target) : null;
    if (node) node.focus();
    else if (hadFocus) $("thread-input").focus();
  }

  #renderPending() {
    const room = this.#room();
    if (!room) return;
    const discard = (id) => {
      this.intents.discard(id);
      $("thread-input").focus();
    };
    $("thread-pending").replaceChildren(...pendingItems(room, this.state.me, this.root, discard));
  }

  /** The replies in view are read, if the user is looking: the thread's marker moves. */
  #look() {
    const room = this.#room();
    if (!room || this.root === null || document.visibilityState !== "visible" || !document.hasFocus()) return;
    const replies = room.replies(this.root);
    const last = replies.length ? replies[replies.length - 1].seq : null;
    const key = `${this.roomId}:${this.root}`;
    if (last === null || last <= (this.reported.get(key) ?? 0)) return;
    if (this.intents.read(this.roomId, this.root, last)) this.reported.set(key, last); // else once live
  }
}
