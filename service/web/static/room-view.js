// The open room: its messages by seq with day separators and runs of one author grouped,
// changes applied in place (edits, deletes, reactions, pins, reply counts), the message
// buttons (Reply, React, Pin; Edit and Delete where the user may), pending sends, and
// the composer's @ completion (what it sends: composer.js; in a public room the user has
// not joined, "Join" in its place). It renders ChatState and sends intents; it fetches nothing itself.
// It opens at the "new messages" line (unread-view.js), else at the end. A message opened from a search is
// scrolled to and marked; a window of older history opened there ends in "Show newer messages" (a hole).

import { $ } from "./dom.js";
import { isBusy, whileBusy } from "./loading.js";
import { anchorOf, centre, isAtEnd, restore, scrollToEnd } from "./log-scroll.js";
import { MentionInput } from "./mention-input.js";
import { MessageControls } from "./message-controls.js";
import { dayKey, daySeparator, holeItem, messageItem, messageOptions } from "./message-item.js";
import { handleMessageButtons } from "./message-tools.js";
import { isDirect, roomLabel } from "./names.js";
import { pendingItems } from "./pending-items.js";
import { UnreadMark } from "./unread-view.js";

const GROUP_WITHIN_MS = 5 * 60_000;

export class RoomView {
  /** intents: switched() (another room: the composer shows its draft; composer.js), loadOlder(), back(), discard(clientMsgId),
   * join() → Promise<error text>, edit(seq, body) → Promise<error text>, remove(seq) → Promise<error text>,
   * fillHole() → Promise<error text>, react(seq, emoji, add) → Promise<error text>,
   * pin(seq, on) → Promise<error text>, openThread(seq); picker: the page's ReactionPicker; line: its UnreadLine */
  constructor(state, intents, picker, line) {
    this.state = state;
    this.intents = intents;
    this.roomId = null;
    this.rendered = []; // seqs in #messages, ascending
    this.last = null; // the last rendered message, to group the next one with
    this.marked = null; // the seq opened from a search
    this.unread = new UnreadMark(state, line, () => this.roomId === state.currentId && this.#renderAll());
    const view = {
      message: (seq) => this.state.current?.messages.get(seq),
      redraw: (seq, focus) => this.#redraw(seq, focus),
      meId: () => this.state.me?.id ?? null,
      settled: (seq, text) => this.controls.settled(seq, text), // a reaction or pin: on the message
    };
    this.controls = new MessageControls($("messages"), intents, view);
    handleMessageButtons($("messages"), picker, intents, view);
    new MentionInput($("message-input"), () => this.state.current?.members ?? [], view.meId);

    state.onChange((what, roomId, detail) => this.#changed(what, roomId, detail));
    $("back").addEventListener("click", () => intents.back());
    const older = $("older"); // "Loading…" while the page is out; why it failed after (olderFailed)
    older.addEventListener("click", () => isBusy(older) || whileBusy(older, () => intents.loadOlder(), "Loading older messages…"));
    $("join").addEventListener("click", () => this.#join());
    $("messages").addEventListener("click", (event) => {
      if (event.target instanceof Element && event.target.closest("#fill-hole")) this.#fillHole();
    });
  }

  /** A room was opened (or reopened): everything is drawn afresh. */
  show() {
    const room = this.state.current;
    if (!room) return;
    const switched = this.roomId !== room.room.id;
    this.roomId = room.room.id;
    if (switched) {
      this.intents.switched();
      $("older").textContent = "Load older messages";
      $("join-error").textContent = "";
      $("room-notice").textContent = "";
      this.controls.reset();
      this.marked = null;
    }
    this.#renderHeader();
    this.#renderConnection();
    this.#renderMembership();
    this.#renderAll();
    this.#renderPending();
    if (!this.unread.scrollTo()) scrollToEnd($("log-scroll")); // opened at what is new
  }

  /** The message opened from a search: scrolled to the middle, marked, and focused;
   * `problem`: why it cannot be shown. */
  reveal(seq, problem = "") {
    $("room-notice").textContent = problem;
    const previous = this.marked === null ? null : this.#itemOf(this.marked);
    this.marked = problem ? null : seq;
    if (previous) {
      previous.classList.remove("marked");
      if (previous.classList.contains("grouped")) this.#group(previous);
    }
    const item = problem ? null : this.#itemOf(seq);
    if (!item) return;
    item.classList.add("marked");
    item.tabIndex = -1;
    item.querySelector(".author.user-link")?.removeAttribute("tabindex"); // shown even if grouped
    centre($("log-scroll"), item);
    item.focus({ preventScroll: true });
  }

  /** Up in an empty composer: the user's last message of the log is edited in place, as
   * its Edit would; false when there is none. */
  editLast() {
    const edits = $("messages").querySelectorAll('li.own:not(.deleted) [data-action="edit"]');
    if (!edits.length) return false;
    edits[edits.length - 1].click();
    return true;
  }

  olderFailed(detail) {
    $("older").textContent = detail ? `Load older messages (failed: ${detail})` : "Load older messages";
  }

  #changed(what, roomId, detail) {
    if (what === "connection") return this.#renderConnection();
    const room = this.state.current;
    if (!room || this.roomId !== room.room.id) return;
    if (what === "rooms") return this.#renderHeader(), this.#renderMembership(); // renamed, joined or left
    if (roomId !== room.room.id) return;
    if (what === "room") {
      this.#renderHeader();
      this.#renderConnection();
      this.#renderMembership();
      if (!room.seqs.length && this.rendered.length) this.#renderAll(); // its messages were forgotten
    } else if (what === "messages") this.#renderNew();
    else if (what === "updated") this.#renderUpdated(detail);
    else if (what === "pending") this.#renderPending();
    else if (what === "members") this.#renderNamed();
  }

  #renderHeader() {
    const { room } = this.state.current;
    const name = roomLabel(room, this.state.me);
    $("room-title").textContent = name;
    const kind = isDirect(room) ? "direct conversation" : room.private ? "private" : "public";
    $("room-info").textContent = [kind, room.description].filter(Boolean).join(" · ");
    document.title = `Chat: ${name}`;
  }

  /** A member writes; anyone else reads a public room and may join it. */
  #renderMembership() {
    const room = this.state.current;
    $("composer").hidden = !room.member;
    $("join-bar").hidden = room.member;
  }

  async #join() {
    if (isBusy($("join"))) return;
    $("join-error").textContent = "";
    const text = await whileBusy($("join"), () => this.intents.join(), "Joining…");
    $("join-error").textContent = text;
    if (!text && this.state.current && this.state.current.member) $("message-input").focus();
  }

  #renderConnection() {
    const room = this.state.current;
    if (!room) return;
    let { state, detail } = this.state.connection;
    if (state === "live" && !room.synced) state = "connecting";
    const text = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", offline: "offline" }[state];
    const line = $("connection");
    line.textContent = detail ? `${text} (${detail})` : text;
    line.dataset.state = state;
  }

  // The log.

  #renderAll() {
    const room = this.state.current;
    const anchor = anchorOf($("log-scroll"), $("messages"));
    this.rendered = [];
    this.last = null;
    const nodes = [];
    const hole = room.hole;
    const holeHere = () => hole && this.last && this.last.seq <= hole.after;
    for (const seq of room.seqs) {
      if (seq >= hole?.before && holeHere()) nodes.push(this.#hole());
      nodes.push(...this.#itemsFor(room.messages.get(seq)));
    }
    if (holeHere()) nodes.push(this.#hole());
    $("messages").replaceChildren(...nodes);
    $("older").hidden = room.oldestSeq <= 1;
    restore($("log-scroll"), $("messages"), anchor); // keep what the reader was looking at
  }

  /** Where a window of older history ends; what follows starts afresh (its day, its author). */
  #hole() {
    this.last = null;
    return holeItem("fill-hole");
  }

  async #fillHole() {
    const button = $("fill-hole");
    if (!button || button.disabled) return;
    button.disabled = true;
    const text = await this.intents.fillHole();
    if (button.isConnected && !text) this.#renderAll(); // nothing new came: the hole had no messages
    const now = $("fill-hole");
    if (now && now !== button && document.activeElement === document.body) now.focus(); // more to show
    if (now !== button) return;
    button.disabled = false;
    button.textContent = text ? `Show newer messages (failed: ${text})` : "Show newer messages";
  }

  /** New messages at the end are appended; anything older (a page, a gap) redraws. */
  #renderNew() {
    const room = this.state.current;
    const lastShown = this.rendered.length ? this.rendered[this.rendered.length - 1] : 0;
    const firstNew = room.seqs.findIndex((seq) => seq > lastShown);
    if (firstNew !== this.rendered.length) return this.#renderAll();
    const atEnd = isAtEnd($("log-scroll"));
    const nodes = [];
    for (const seq of room.seqs.slice(firstNew)) nodes.push(...this.#itemsFor(room.messages.get(seq)));
    $("messages").append(...nodes);
    $("older").hidden = room.oldestSeq <= 1;
    if (atEnd) scrollToEnd($("log-scroll"));
  }

  /** The message's <li>, after a day separator when it starts a day. */
  #itemsFor(message) {
    const items = [];
    const when = new Date(message.created_at);
    const previous = this.last;
    const previousWhen = previous ? new Date(previous.created_at) : null;
    const newDay = !previousWhen || dayKey(previousWhen) !== dayKey(when);
    if (newDay) items.push(daySeparator(when));
    const line = this.unread.addTo(items, this.state.current, message); // the "new messages" line
    const grouped = !line && !newDay && previous.user.id === message.user.id && when - previousWhen < GROUP_WITHIN_MS;
    const item = this.#messageItem(message);
    if (grouped) this.#group(item);
    items.push(item);
    this.rendered.push(message.seq);
    this.last = message;
    return items;
  }

  #messageItem(message) {
    const options = { ...messageOptions(this.state, message), thread: true, ...this.controls.of(message.seq) };
    const item = messageItem(message, options);
    item.dataset.seq = String(message.seq);
    if (message.seq === this.marked) {
      item.classList.add("marked");
      item.tabIndex = -1;
    }
    return item;
  }

  /** One more message of the author above: its name is not shown again, nor a tab stop
   * (unless it is the message opened from a search). */
  #group(item) {
    item.classList.add("grouped");
    const author = item.querySelector(".author.user-link");
    if (author && !item.classList.contains("marked")) author.tabIndex = -1;
  }

  /** Messages changed in place (edited, deleted): their items are drawn again. */
  #renderUpdated(seqs) {
    const room = this.state.current;
    for (const seq of seqs) if (this.controls.changed(room.messages.get(seq))) this.#redraw(seq);
  }

  /** The members are known: the messages that show names of others (mentions, who reacted). */
  #renderNamed() {
    const room = this.state.current;
    for (const seq of this.rendered) {
      const message = room.messages.get(seq);
      if (message && (message.mentions?.length || message.reactions?.length)) this.#redraw(seq);
    }
  }

  #itemOf(seq) {
    return $("messages").querySelector(`li[data-seq="${Number(seq)}"]`);
  }

  /** Draw one message again; focus goes to `focus` (a selector in it), else stays on the
   * same control if it is still there. */
  #redraw(seq, focus = null) {
    const old = this.#itemOf(seq);
    const message = this.state.current.messages.get(seq);
    if (!old || !message) return;
    const hadFocus = old.contains(document.activeElement);
    const itself = document.activeElement === old; // the message opened from a search
    const action = hadFocus ? document.activeElement.dataset.action : undefined;
    const item = this.#messageItem(message);
    if (old.classList.contains("grouped")) this.#group(item);
    old.replaceWith(item);
    const target = focus ?? (action ? `[data-action="${action}"]` : null);
    const node = target ? item.querySelector(target) : null;
    if (node) node.focus();
    else if (itself) item.focus({ preventScroll: true });
    else if (hadFocus) $("message-input").focus();
  }

  #renderPending() {
    const room = this.state.current;
    const atEnd = isAtEnd($("log-scroll"));
    const discard = (id) => {
      this.intents.discard(id);
      $("message-input").focus();
    };
    $("pending").replaceChildren(...pendingItems(room, this.state.me, null, discard));
    if (atEnd) scrollToEnd($("log-scroll"));
  }
}
