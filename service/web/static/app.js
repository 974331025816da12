// The page: three views (sign in, rooms, one room) switched by the URL hash.
// Every piece of user content goes into the DOM as textContent, never as markup.

import { ApiError, Auth, SignedOut } from "./api.js";
import { RoomFeed } from "./feed.js";

const TYPING_SHOWN_MS = 3000;
const HISTORY_PAGE = 50;
const GAP_PAGE = 200;

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function errorText(error) {
  if (error instanceof ApiError || error instanceof SignedOut) return error.message;
  return "the server cannot be reached; try again";
}

const auth = new Auth((reason) => navigate("#/login", `Signed out: ${reason}.`));
let roomView = null;
let notice = "";

// --- navigation -----------------------------------------------------------

function navigate(hash, message = "") {
  notice = message;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  const message = notice;
  notice = "";
  const match = /^#\/rooms\/(\d+)$/.exec(location.hash);
  if (!auth.user) return showLogin(message);
  if (match) return showRoom(match[1]);
  return showRooms(message);
}

function show(viewId) {
  for (const id of ["view-login", "view-rooms", "view-room"]) $(id).hidden = id !== viewId;
  const user = auth.user;
  $("whoami").textContent = user ? `Signed in as ${user.username}` : "";
  $("logout").hidden = !user;
}

function leaveRoom() {
  if (roomView) {
    roomView.close();
    roomView = null;
  }
}

// --- sign in ---------------------------------------------------------------

function showLogin(message) {
  leaveRoom();
  show("view-login");
  document.title = "Chat: sign in";
  $("login-notice").textContent = message;
  $("login-error").textContent = "";
  $("login-username").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("login-username").value.trim();
  const password = $("login-password").value;
  const registering = event.submitter && event.submitter.value === "register";
  $("login-error").textContent = "";
  if (!username || !password) {
    $("login-error").textContent = "Enter a username and a password.";
    return;
  }
  const buttons = [$("login-submit"), $("register-submit")];
  buttons.forEach((b) => (b.disabled = true));
  try {
    if (registering) await auth.register(username, password);
    else await auth.login(username, password);
    $("login-password").value = "";
    if (!/^#\/rooms/.test(location.hash)) navigate("#/rooms");
    else route();
  } catch (error) {
    let text = errorText(error);
    if (error instanceof ApiError && error.status === 401) text = "Wrong username or password.";
    if (error instanceof ApiError && error.status === 409) text = "That username is taken.";
    $("login-error").textContent = text;
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
});

$("logout").addEventListener("click", async () => {
  leaveRoom();
  await auth.logout();
  navigate("#/login", "You are signed out.");
});

// --- rooms -------------------------------------------------------------------

function showRooms(message) {
  leaveRoom();
  show("view-rooms");
  document.title = "Chat: rooms";
  $("rooms-notice").textContent = message;
  $("create-room-error").textContent = "";
  $("view-rooms").querySelector("h1").focus();
  loadRooms();
}

async function loadRooms() {
  const list = $("room-list");
  try {
    const page = await auth.request("GET", "/rooms?limit=200");
    list.replaceChildren(...page.items.map(roomItem));
    $("rooms-empty").hidden = page.items.length > 0;
  } catch (error) {
    if (!(error instanceof SignedOut)) $("rooms-notice").textContent = `Rooms could not be loaded: ${errorText(error)}`;
  }
}

function roomItem(room) {
  const item = el("li");
  const open = el("button", "room-open");
  open.type = "button";
  open.dataset.roomId = room.id;
  open.append(el("span", "room-name", room.name));
  if (room.private) open.append(el("span", "badge", "private"));
  open.addEventListener("click", () => navigate(`#/rooms/${room.id}`));
  item.append(open);
  if (room.description) item.append(el("p", "muted room-description", room.description));
  return item;
}

$("rooms-refresh").addEventListener("click", () => loadRooms());

$("create-room").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("room-name").value.trim();
  const error = $("create-room-error");
  error.textContent = "";
  if (!name) {
    error.textContent = "Give the room a name.";
    return;
  }
  try {
    const room = await auth.request("POST", "/rooms", {
      json: { name, description: $("room-description").value, private: $("room-private").checked },
    });
    $("create-room").reset();
    navigate(`#/rooms/${room.id}`);
  } catch (failure) {
    if (failure instanceof SignedOut) return;
    error.textContent = failure instanceof ApiError && failure.status === 409 ? "That name is taken." : errorText(failure);
  }
});

// --- one room ------------------------------------------------------------------

function showRoom(roomId) {
  if (roomView && roomView.roomId === roomId) return;
  leaveRoom();
  show("view-room");
  roomView = new RoomView(roomId);
  $("room-title").focus();
}

$("back").addEventListener("click", () => navigate("#/rooms"));

/** The room's DOM: messages ordered and unique by seq, pending sends, typing, who is online. */
class RoomView {
  constructor(roomId) {
    this.roomId = roomId;
    this.me = auth.user;
    this.items = new Map(); // seq → <li>
    this.seqs = []; // ascending
    this.pendingItems = new Map(); // client_msg_id → <li>
    this.typists = new Map(); // user id → {username, timer}
    this.online = new Map(); // user id → User
    this.loadingOlder = false;
    this.closed = false;

    $("room-title").textContent = "…";
    $("room-info").textContent = "";
    $("messages").replaceChildren();
    $("pending").replaceChildren();
    $("online").replaceChildren();
    $("online-count").textContent = "";
    $("typing").textContent = "";
    $("older").hidden = true;
    $("older").textContent = "Load older messages";
    $("message-input").value = "";

    this.feed = new RoomFeed(roomId, auth, this);
    this.feed.start();
  }

  close() {
    this.closed = true;
    this.feed.stop();
    for (const { timer } of this.typists.values()) clearTimeout(timer);
  }

  // Events from the feed.

  status(state, detail) {
    const text = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…" }[state];
    const line = $("connection");
    line.textContent = detail ? `${text} (${detail})` : text;
    line.dataset.state = state;
    if (state !== "live") this.#clearTyping();
  }

  welcome(room, user, online) {
    this.me = user;
    this.room = room;
    $("room-title").textContent = room.name;
    $("room-info").textContent = [room.private ? "private" : "public", room.description].filter(Boolean).join(" · ");
    document.title = `Chat: ${room.name}`;
    if (online) this.#setOnline(online);
    else this.#fetchOnline();
  }

  message(message) {
    this.#add([message]);
    this.#stopTyping(message.user.id);
  }

  gap(afterSeq, beforeSeq) {
    this.#page(afterSeq, beforeSeq).catch((error) => {
      if (!(error instanceof SignedOut)) console.warn("chat: missed messages could not be loaded", error);
    });
  }

  acknowledged(clientMsgId) {
    const item = this.pendingItems.get(clientMsgId);
    if (item) item.remove();
    this.pendingItems.delete(clientMsgId);
  }

  failed(clientMsgId, detail) {
    const item = this.pendingItems.get(clientMsgId);
    if (!item) return;
    item.classList.remove("pending");
    item.classList.add("failed");
    const state = item.querySelector(".state");
    state.textContent = `not sent: ${detail}`;
    const discard = el("button", "link", "Discard");
    discard.type = "button";
    discard.addEventListener("click", () => {
      item.remove();
      this.pendingItems.delete(clientMsgId);
      $("message-input").focus();
    });
    item.append(discard);
  }

  typing(user) {
    const current = this.typists.get(user.id);
    if (current) clearTimeout(current.timer);
    const timer = setTimeout(() => this.#stopTyping(user.id), TYPING_SHOWN_MS);
    this.typists.set(user.id, { username: user.username, timer });
    this.#renderTyping();
  }

  presence(event, user) {
    if (event === "join") this.online.set(user.id, user);
    else this.online.delete(user.id);
    this.#renderOnline();
  }

  ended(where, reason) {
    if (roomView === this) roomView = null;
    this.close();
    // signOut tells the page (Auth's callback), which shows the sign-in view with the reason.
    if (where === "login" && auth.user) auth.signOut(reason);
    else if (where === "login") navigate("#/login", `Signed out: ${reason}.`);
    else navigate("#/rooms", `You left the room: ${reason}.`);
  }

  // Actions from the user.

  send(body) {
    const id = this.feed.send(body);
    const item = this.#messageItem({ user: this.me, body, created_at: null });
    item.classList.add("pending", "own");
    item.dataset.clientMsgId = id;
    item.append(el("span", "state", "sending…"));
    this.pendingItems.set(id, item);
    $("pending").append(item);
    this.#scrollToEnd();
  }

  async loadOlder() {
    if (this.loadingOlder) return;
    this.loadingOlder = true;
    try {
      const oldest = this.#oldestSeq();
      const page = await auth.request("GET", `/rooms/${this.roomId}/messages?before_seq=${oldest}&limit=${HISTORY_PAGE}`);
      if (this.closed) return;
      const scroll = $("log-scroll");
      const fromBottom = scroll.scrollHeight - scroll.scrollTop;
      this.#add(page.items, { scroll: false });
      scroll.scrollTop = scroll.scrollHeight - fromBottom; // keep what the reader was looking at
      $("older").textContent = "Load older messages";
    } catch (error) {
      if (!(error instanceof SignedOut)) $("older").textContent = `Load older messages (failed: ${errorText(error)})`;
    } finally {
      this.loadingOlder = false;
    }
  }

  // The log.

  #oldestSeq() {
    if (this.seqs.length) return this.seqs[0];
    return (this.feed.lastSeq ?? 0) + 1;
  }

  /** Insert by seq; a seq already shown is skipped, whichever way it came (replay, live, REST). */
  #add(messages, { scroll = true } = {}) {
    const log = $("log-scroll");
    const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
    for (const message of messages) {
      if (this.items.has(message.seq)) continue;
      const item = this.#messageItem(message);
      item.dataset.seq = String(message.seq);
      const at = this.#insertionIndex(message.seq);
      const next = at < this.seqs.length ? this.items.get(this.seqs[at]) : null;
      $("messages").insertBefore(item, next);
      this.seqs.splice(at, 0, message.seq);
      this.items.set(message.seq, item);
    }
    $("older").hidden = this.#oldestSeq() <= 1;
    if (scroll && atEnd) this.#scrollToEnd();
  }

  #insertionIndex(seq) {
    let low = 0;
    let high = this.seqs.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.seqs[mid] < seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  #messageItem(message) {
    const item = el("li", "message");
    if (this.me && message.user.id === this.me.id) item.classList.add("own");
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

  #scrollToEnd() {
    const log = $("log-scroll");
    log.scrollTop = log.scrollHeight;
  }

  /** The window (afterSeq, beforeSeq) a truncated replay skipped, oldest first. */
  async #page(afterSeq, beforeSeq) {
    let after = afterSeq;
    for (;;) {
      const query = `after_seq=${after}&before_seq=${beforeSeq}&limit=${GAP_PAGE}`;
      const page = await auth.request("GET", `/rooms/${this.roomId}/messages?${query}`);
      if (this.closed) return;
      this.#add(page.items, { scroll: false });
      if (!page.has_more || page.items.length === 0) return;
      after = page.items[page.items.length - 1].seq;
    }
  }

  // Typing and presence.

  #stopTyping(userId) {
    const entry = this.typists.get(userId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.typists.delete(userId);
    this.#renderTyping();
  }

  #clearTyping() {
    for (const id of [...this.typists.keys()]) this.#stopTyping(id);
  }

  #renderTyping() {
    const names = [...this.typists.values()].map((t) => t.username).sort();
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    $("typing").textContent = text;
  }

  #setOnline(users) {
    this.online = new Map(users.map((u) => [u.id, u]));
    this.#renderOnline();
  }

  async #fetchOnline() {
    // A server without presence in welcome may still answer the REST call; if not, show ourselves.
    try {
      const page = await auth.request("GET", `/rooms/${this.roomId}/presence`);
      if (!this.closed) this.#setOnline(page.items);
    } catch {
      if (!this.closed && this.me) this.#setOnline([this.me]);
    }
  }

  #renderOnline() {
    const users = [...this.online.values()].sort((a, b) => a.username.localeCompare(b.username));
    $("online").replaceChildren(
      ...users.map((user) => {
        const item = el("li", "person", user.username);
        item.dataset.userId = String(user.id);
        if (this.me && user.id === this.me.id) item.append(el("span", "muted", " (you)"));
        return item;
      }),
    );
    $("online-count").textContent = `(${users.length})`;
  }
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("message-input");
  const body = input.value;
  if (!roomView || !body.trim()) return;
  roomView.send(body);
  input.value = "";
  input.focus();
});

$("message-input").addEventListener("input", (event) => {
  if (!roomView) return;
  if (event.target.value.trim()) roomView.feed.typing();
  else roomView.feed.stoppedTyping();
});

$("older").addEventListener("click", () => roomView && roomView.loadOlder());

// A network that comes back should not wait out the backoff.
window.addEventListener("online", () => roomView && roomView.feed.reconnectNow());
window.addEventListener("hashchange", route);
route();
