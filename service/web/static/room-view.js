// The open room: its messages by seq with day separators and runs of one author grouped,
// pending sends, who is typing and online, and the members (managed by the owner).
// It renders ChatState and sends intents; it fetches nothing itself.

import { $, el } from "./dom.js";

const GROUP_WITHIN_MS = 5 * 60_000;
const AT_END_PX = 48;

function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

function dayLabel(date) {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(date) === dayKey(today)) return "Today";
  if (dayKey(date) === dayKey(yesterday)) return "Yesterday";
  const options = { weekday: "long", day: "numeric", month: "long" };
  if (date.getFullYear() !== today.getFullYear()) options.year = "numeric";
  return date.toLocaleDateString([], options);
}

export class RoomView {
  /** intents: send(body), typing(), stoppedTyping(), loadOlder(), back(), discard(clientMsgId),
   * addMember(username) → Promise, removeMember(user) → Promise */
  constructor(state, intents) {
    this.state = state;
    this.intents = intents;
    this.roomId = null;
    this.rendered = []; // seqs in #messages, ascending
    this.last = null; // the last rendered message, to group the next one with

    state.onChange((what, roomId) => this.#changed(what, roomId));
    $("back").addEventListener("click", () => intents.back());
    $("older").addEventListener("click", () => intents.loadOlder());
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("message-input");
      if (!input.value.trim()) return;
      intents.send(input.value);
      input.value = "";
      input.focus();
    });
    $("message-input").addEventListener("input", (event) => {
      if (event.target.value.trim()) intents.typing();
      else intents.stoppedTyping();
    });
    $("add-member").addEventListener("submit", (event) => this.#addMember(event));
    // On a phone the people panel starts folded, leaving the height to the conversation.
    if (matchMedia("(max-width: 40rem)").matches) $("people-details").open = false;
  }

  /** A room was opened (or reopened): everything is drawn afresh. */
  show() {
    const room = this.state.current;
    if (!room) return;
    const switched = this.roomId !== room.room.id;
    this.roomId = room.room.id;
    if (switched) {
      $("message-input").value = "";
      $("older").textContent = "Load older messages";
      $("member-username").value = "";
      $("add-member-error").textContent = "";
    }
    this.#renderHeader();
    this.#renderConnection();
    this.#renderAll();
    this.#renderPending();
    this.#renderTyping();
    this.#renderOnline();
    this.#renderMembers();
    this.#scrollToEnd();
  }

  olderFailed(detail) {
    $("older").textContent = detail ? `Load older messages (failed: ${detail})` : "Load older messages";
  }

  #changed(what, roomId) {
    if (what === "connection") return this.#renderConnection();
    const room = this.state.current;
    if (!room || roomId !== room.room.id || this.roomId !== roomId) return;
    if (what === "room") {
      this.#renderHeader();
      this.#renderConnection();
      this.#renderOnline();
    } else if (what === "messages") this.#renderNew();
    else if (what === "pending") this.#renderPending();
    else if (what === "typing") this.#renderTyping();
    else if (what === "online") this.#renderOnline();
    else if (what === "members") this.#renderMembers();
  }

  #renderHeader() {
    const { room } = this.state.current;
    $("room-title").textContent = room.name;
    $("room-info").textContent = [room.private ? "private" : "public", room.description].filter(Boolean).join(" · ");
    document.title = `Chat: ${room.name}`;
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
    const scroll = $("log-scroll");
    const fromBottom = scroll.scrollHeight - scroll.scrollTop;
    this.rendered = [];
    this.last = null;
    const nodes = [];
    for (const seq of room.seqs) nodes.push(...this.#itemsFor(room.messages.get(seq)));
    $("messages").replaceChildren(...nodes);
    $("older").hidden = room.oldestSeq <= 1;
    scroll.scrollTop = scroll.scrollHeight - fromBottom; // keep what the reader was looking at
  }

  /** New messages at the end are appended; anything older (a page, a gap) redraws. */
  #renderNew() {
    const room = this.state.current;
    const lastShown = this.rendered.length ? this.rendered[this.rendered.length - 1] : 0;
    const firstNew = room.seqs.findIndex((seq) => seq > lastShown);
    if (firstNew !== this.rendered.length) return this.#renderAll();
    const scroll = $("log-scroll");
    const atEnd = scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < AT_END_PX;
    const nodes = [];
    for (const seq of room.seqs.slice(firstNew)) nodes.push(...this.#itemsFor(room.messages.get(seq)));
    $("messages").append(...nodes);
    $("older").hidden = room.oldestSeq <= 1;
    if (atEnd) this.#scrollToEnd();
  }

  /** The message's <li>, after a day separator when it starts a day. */
  #itemsFor(message) {
    const items = [];
    const when = new Date(message.created_at);
    const previous = this.last;
    const previousWhen = previous ? new Date(previous.created_at) : null;
    const newDay = !previousWhen || dayKey(previousWhen) !== dayKey(when);
    if (newDay) {
      const separator = el("li", "day-separator");
      separator.setAttribute("role", "separator");
      separator.append(el("span", "", dayLabel(when)));
      items.push(separator);
    }
    const grouped = !newDay && previous.user.id === message.user.id && when - previousWhen < GROUP_WITHIN_MS;
    const item = this.#messageItem(message);
    item.dataset.seq = String(message.seq);
    if (grouped) item.classList.add("grouped");
    items.push(item);
    this.rendered.push(message.seq);
    this.last = message;
    return items;
  }

  #messageItem(message) {
    const me = this.state.me;
    const item = el("li", "message");
    if (me && message.user.id === me.id) item.classList.add("own");
    const meta = el("div", "meta");
    meta.append(el("span", "author", message.user.username));
    if (message.created_at) {
      const when = new Date(message.created_at);
      const time = el("time", "", when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
      time.dateTime = message.created_at;
      time.title = when.toLocaleString();
      meta.append(time);
    }
    item.append(meta, el("p", "body", message.body));
    return item;
  }

  #renderPending() {
    const room = this.state.current;
    const me = this.state.me;
    const scroll = $("log-scroll");
    const atEnd = scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < AT_END_PX;
    const items = [...room.pending].map(([id, entry]) => {
      const item = this.#messageItem({ user: me, body: entry.body, created_at: null });
      item.classList.add(entry.failed === null ? "pending" : "failed");
      item.dataset.clientMsgId = id;
      item.append(el("span", "state", entry.failed === null ? "sending…" : `not sent: ${entry.failed}`));
      if (entry.failed !== null) {
        const discard = el("button", "link", "Discard");
        discard.type = "button";
        discard.addEventListener("click", () => {
          this.intents.discard(id);
          $("message-input").focus();
        });
        item.append(discard);
      }
      return item;
    });
    $("pending").replaceChildren(...items);
    if (atEnd) this.#scrollToEnd();
  }

  #scrollToEnd() {
    const scroll = $("log-scroll");
    scroll.scrollTop = scroll.scrollHeight;
  }

  // Typing, online, members.

  #renderTyping() {
    const room = this.state.current;
    const names = this.state.connection.state === "live" ? [...room.typists.values()].map((t) => t.username).sort() : [];
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    $("typing").textContent = text;
  }

  #renderOnline() {
    const room = this.state.current;
    const me = this.state.me;
    const users = [...room.online.values()].sort((a, b) => a.username.localeCompare(b.username));
    $("online").replaceChildren(
      ...users.map((user) => {
        const item = el("li", "person", user.username);
        item.dataset.userId = String(user.id);
        if (me && user.id === me.id) item.append(el("span", "muted", " (you)"));
        return item;
      }),
    );
    $("online-count").textContent = `(${users.length})`;
  }

  #renderMembers() {
    const room = this.state.current;
    const me = this.state.me;
    const manages = Boolean(me && (me.is_admin || room.room.owner_id === me.id));
    $("add-member").hidden = !manages;
    $("members-error").textContent = room.membersError;
    const members = room.members ?? [];
    $("members-count").textContent = room.members ? `(${members.length})` : "";
    $("members").replaceChildren(
      ...members.map((user) => {
        const item = el("li", "member");
        item.dataset.userId = String(user.id);
        item.append(el("span", "member-name", user.username));
        if (user.id === room.room.owner_id) item.append(el("span", "badge", "owner"));
        else if (me && user.id === me.id) item.append(el("span", "muted", " (you)"));
        if (manages && user.id !== room.room.owner_id) {
          const remove = el("button", "link remove", "Remove");
          remove.type = "button";
          remove.setAttribute("aria-label", `Remove ${user.username}`);
          remove.addEventListener("click", () => this.#removeMember(user, remove));
          item.append(remove);
        }
        return item;
      }),
    );
  }

  async #addMember(event) {
    event.preventDefault();
    const input = $("member-username");
    const error = $("add-member-error");
    const username = input.value.trim();
    error.textContent = "";
    if (!username) {
      error.textContent = "Enter a username.";
      return;
    }
    const text = await this.intents.addMember(username);
    if (text) error.textContent = text;
    else input.value = "";
  }

  async #removeMember(user, button) {
    button.disabled = true;
    const text = await this.intents.removeMember(user);
    if (text) $("members-error").textContent = text;
    button.disabled = false;
  }
}
