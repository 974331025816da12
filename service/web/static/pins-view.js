// The open room's pinned messages, in a pane beside it: the most recently pinned first,
// kept live by the stream (pins, unpins, edits, deletes), each with Unpin and a way to
// show it where it is (the log, or its thread). Listed over REST when the pane opens.
// It renders ChatState and sends intents; it fetches nothing itself.

import { ActionFailures } from "./action-failures.js";
import { $, el } from "./dom.js";
import { messageItem, messageOptions } from "./message-item.js";
import { handleMessageTools } from "./message-tools.js";

export class PinsView {
  /** intents: load(roomId) → Promise<error text>, pin(seq, on) → Promise<error text>,
   * show(message), opened() (another pane makes way), closed() */
  constructor(state, intents) {
    this.state = state;
    this.intents = intents;
    this.roomId = null; // the room whose pins are shown; null: closed
    this.failures = new ActionFailures((seq, focus) => this.#render(focus && { seq, focus })); // an unpin that failed
    const view = { settled: (seq, text) => this.failures.settled(seq, text) };
    handleMessageTools($("pins-list"), { openThread: () => {}, pin: intents.pin }, view);
    $("pins-list").addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest('button[data-action="show"]') : null;
      const message = button && this.#room()?.messages.get(Number(button.closest("li[data-seq]").dataset.seq));
      if (message) intents.show(message);
    });
    $("pins-open").addEventListener("click", () => (this.roomId === null ? this.open() : this.close(true)));
    $("pins-close").addEventListener("click", () => this.close(true));
    $("pins-pane").addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close(true);
    });
    state.onChange((what, roomId, detail) => this.#changed(what, roomId, detail));
  }

  get isOpen() {
    return this.roomId !== null;
  }

  async open() {
    const room = this.state.current;
    if (!room) return;
    const roomId = room.room.id;
    this.intents.opened();
    this.roomId = roomId;
    this.failures.reset();
    $("pins-pane").hidden = false;
    $("pins-open").setAttribute("aria-expanded", "true");
    $("pins-status").textContent = room.pinsLoaded ? "" : "Loading…";
    this.#render();
    $("pins-heading").focus();
    if (room.pinsLoaded) return;
    const text = await this.intents.load(roomId);
    if (this.roomId === roomId) $("pins-status").textContent = text;
    this.#render();
  }

  close(refocus = false) {
    if (this.roomId === null) return;
    this.roomId = null;
    $("pins-pane").hidden = true;
    $("pins-open").setAttribute("aria-expanded", "false");
    this.intents.closed();
    if (refocus) $("pins-open").focus();
  }

  #room() {
    return this.roomId === null ? null : (this.state.rooms.get(this.roomId) ?? null);
  }

  #changed(what, roomId, detail) {
    if (this.roomId === null) return;
    if (what === "current" && roomId !== this.roomId) return this.close();
    if (roomId !== this.roomId) return;
    if (what === "pins" || what === "members") this.#render();
    else if (what === "updated") {
      const shown = new Set([...$("pins-list").children].map((item) => Number(item.dataset.seq)));
      const room = this.#room();
      if (detail.some((seq) => shown.has(seq) || room.messages.get(seq)?.pinned)) this.#render();
    }
  }

  /** `focusIn`: {seq, focus}, the keyboard's focus to a control (a selector) of that message. */
  #render(focusIn = null) {
    const room = this.#room();
    if (!room) return;
    const messages = room.pinsLoaded ? room.pinned() : [];
    const focused = $("pins-list").contains(document.activeElement) ? document.activeElement : null;
    const at = focused ? [focused.closest("li[data-seq]")?.dataset.seq, focused.dataset.action] : null;
    $("pins-list").replaceChildren(...messages.map((message) => this.#item(message)));
    if (room.pinsLoaded && !messages.length) $("pins-status").textContent = "Nothing is pinned in this room.";
    else if (room.pinsLoaded && $("pins-status").textContent === "Nothing is pinned in this room.") {
      $("pins-status").textContent = "";
    }
    const item = (seq) => $("pins-list").querySelector(`li[data-seq="${Number(seq)}"]`);
    let again = at && item(at[0])?.querySelector(`[data-action="${at[1]}"]`);
    if (focusIn) again = item(focusIn.seq)?.querySelector(focusIn.focus);
    if (again) again.focus();
    else if (focused) $("pins-heading").focus();
  }

  #item(message) {
    const options = messageOptions(this.state, message);
    const rights = { canEdit: false, canDelete: false, canReply: false, canReact: false };
    const item = messageItem(message, { ...options, ...rights, failure: this.failures.of(message.seq) });
    item.dataset.seq = String(message.seq);
    const show = el("button", "link", message.thread_seq == null ? "Show in the room" : "Show in its thread");
    show.type = "button";
    show.dataset.action = "show";
    item.append(show);
    return item;
  }
}
