// The page: sign-in, then the sidebar of rooms beside the open room, all on one socket.
// This module wires the socket's events into ChatState and the views' intents into REST
// calls and socket frames; the views only render state. Routes: #/login, #/rooms, #/rooms/<id>.

import { ApiError, Auth, SignedOut } from "./api.js";
import { $ } from "./dom.js";
import { HomeView } from "./home-view.js";
import { RoomView } from "./room-view.js";
import { SidebarView } from "./sidebar-view.js";
import { SignInView } from "./signin-view.js";
import { ChatSocket } from "./socket.js";
import { ChatState } from "./state.js";

const HISTORY_PAGE = 50;
const GAP_PAGE = 200;

function errorText(error) {
  if (error instanceof ApiError || error instanceof SignedOut) return error.message;
  return "the server cannot be reached; try again";
}

const auth = new Auth((reason) => navigate("#/login", `Signed out: ${reason}.`));
const state = new ChatState();
let socket = null;
let notice = "";

// --- the socket's events, into the state -------------------------------------------

const socketEvents = {
  status(connection, detail) {
    if (connection !== "live") state.unsynced();
    state.setConnection(connection, detail);
  },
  hello(user) {
    state.setMe(user);
  },
  welcome(roomId, room, online) {
    state.welcome(roomId, room, online);
  },
  message(roomId, message) {
    state.addMessages(roomId, [message]);
  },
  synced(roomId) {
    state.synced(roomId);
  },
  gap(roomId, afterSeq, beforeSeq) {
    pageGap(roomId, afterSeq, beforeSeq).catch((error) => {
      if (!(error instanceof SignedOut)) console.warn("chat: missed messages could not be loaded", error);
    });
  },
  acknowledged(roomId, clientMsgId) {
    state.acknowledged(roomId, clientMsgId);
  },
  failed(roomId, clientMsgId, detail) {
    state.failed(roomId, clientMsgId, detail);
  },
  typing(roomId, user) {
    state.typing(roomId, user);
  },
  presence(roomId, event, user) {
    state.presence(roomId, event, user);
  },
  roomAdded(room) {
    follow([room]);
  },
  roomEnded(roomId, reason) {
    const wasOpen = state.currentId === roomId;
    state.removeRoom(roomId);
    if (wasOpen) navigate("#/rooms", `You left the room: ${reason}.`);
  },
  ended(reason) {
    // signOut tells the page (Auth's callback), which shows the sign-in view with the reason.
    if (auth.user) auth.signOut(reason);
    else navigate("#/login", `Signed out: ${reason}.`);
  },
};

/** Rooms to list and to follow on the socket. */
function follow(rooms) {
  const added = state.addRooms(rooms);
  if (socket && added.length) socket.subscribe(added);
}

/** The window (afterSeq, beforeSeq) a truncated replay skipped, oldest first. */
async function pageGap(roomId, afterSeq, beforeSeq) {
  let after = afterSeq;
  for (;;) {
    const query = `after_seq=${after}&before_seq=${beforeSeq}&limit=${GAP_PAGE}`;
    const page = await auth.request("GET", `/rooms/${roomId}/messages?${query}`);
    state.addMessages(roomId, page.items);
    if (!page.has_more || page.items.length === 0) return;
    after = page.items[page.items.length - 1].seq;
  }
}

async function loadRooms() {
  try {
    const page = await auth.request("GET", "/rooms?limit=200");
    follow(page.items);
  } catch (error) {
    if (!(error instanceof SignedOut)) $("rooms-notice").textContent = `Rooms could not be loaded: ${errorText(error)}`;
  }
}

async function loadMembers(roomId) {
  try {
    const page = await auth.request("GET", `/rooms/${roomId}/members`);
    state.setMembers(roomId, page.items);
  } catch (error) {
    if (!(error instanceof SignedOut)) state.setMembers(roomId, null, `Members could not be loaded: ${errorText(error)}`);
  }
}

// --- the views and their intents ----------------------------------------------------

const signIn = new SignInView({
  async signIn(username, password, registering) {
    if (registering) await auth.register(username, password);
    else await auth.login(username, password);
    if (!/^#\/rooms/.test(location.hash)) navigate("#/rooms");
    else route();
  },
});

const home = new HomeView({
  async createRoom(fields) {
    const room = await auth.request("POST", "/rooms", { json: fields });
    follow([room]);
    navigate(`#/rooms/${room.id}`);
  },
});

new SidebarView(state, {
  open: (roomId) => navigate(`#/rooms/${roomId}`),
  refresh: () => loadRooms(),
  newRoom: () => {
    navigate("#/rooms");
    home.focusForm();
  },
});

let loadingOlder = false;
const roomView = new RoomView(state, {
  send(body) {
    const roomId = state.currentId;
    if (roomId === null || !socket) return;
    const id = socket.send(roomId, body);
    state.addPending(roomId, id, body);
  },
  typing: () => socket && state.currentId !== null && socket.typing(state.currentId),
  stoppedTyping: () => socket && socket.stoppedTyping(),
  back: () => navigate("#/rooms"),
  discard(clientMsgId) {
    if (socket) socket.discard(clientMsgId);
    state.discard(state.currentId, clientMsgId);
  },
  async loadOlder() {
    const room = state.current;
    if (!room || loadingOlder) return;
    loadingOlder = true;
    const roomId = room.room.id;
    try {
      const page = await auth.request("GET", `/rooms/${roomId}/messages?before_seq=${room.oldestSeq}&limit=${HISTORY_PAGE}`);
      state.addMessages(roomId, page.items);
      roomView.olderFailed("");
    } catch (error) {
      if (!(error instanceof SignedOut)) roomView.olderFailed(errorText(error));
    } finally {
      loadingOlder = false;
    }
  },
  /** Resolves to an error text, or "" when done. */
  async addMember(username) {
    const roomId = state.currentId;
    try {
      await auth.request("POST", `/rooms/${roomId}/members`, { json: { username } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && error.message === "user not found") {
        return `There is no user ${username}.`;
      }
      if (error instanceof ApiError && error.status === 409) return `${username} is a member already.`;
      return errorText(error);
    }
    await loadMembers(roomId);
    return "";
  },
  async removeMember(user) {
    const roomId = state.currentId;
    try {
      await auth.request("DELETE", `/rooms/${roomId}/members/${user.id}`);
    } catch (error) {
      return errorText(error);
    }
    await loadMembers(roomId);
    return "";
  },
});

// --- navigation ---------------------------------------------------------------------

function navigate(hash, message = "") {
  notice = message;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  const message = notice;
  notice = "";
  if (!auth.user) return showLogin(message);
  startChat();
  const match = /^#\/rooms\/(\d+)$/.exec(location.hash);
  if (match && state.rooms.has(Number(match[1]))) return showRoom(Number(match[1]));
  if (match) return openUnlisted(Number(match[1]));
  return showHome(message);
}

function showTopbar() {
  const user = auth.user;
  $("whoami").textContent = user ? `Signed in as ${user.username}` : "";
  $("logout").hidden = !user;
}

function showLogin(message) {
  stopChat();
  $("view-login").hidden = false;
  $("view-chat").hidden = true;
  showTopbar();
  document.title = "Chat: sign in";
  signIn.show(message);
}

/** Signed in: one socket for the whole session, following every listed room. */
function startChat() {
  $("view-login").hidden = true;
  $("view-chat").hidden = false;
  showTopbar();
  if (socket) return;
  state.reset(auth.user);
  socket = new ChatSocket(auth, socketEvents);
  socket.start();
  loadRooms();
}

function stopChat() {
  if (!socket) return;
  socket.stop();
  socket = null;
  state.reset(null);
}

function showHome(message) {
  if (socket) socket.stoppedTyping();
  state.open(null);
  $("view-chat").dataset.screen = "rooms";
  $("view-home").hidden = false;
  $("view-room").hidden = true;
  document.title = "Chat: rooms";
  home.show(message);
  if (message) $("view-home").querySelector("h1").focus();
}

function showRoom(roomId) {
  if (state.currentId === roomId && !$("view-room").hidden) return;
  if (socket) socket.stoppedTyping();
  state.open(roomId);
  $("view-chat").dataset.screen = "room";
  $("view-home").hidden = true;
  $("view-room").hidden = false;
  roomView.show();
  loadMembers(roomId);
  $("room-title").focus();
}

/** A link to a room the list does not hold (yet): ask for it, then follow it. */
async function openUnlisted(roomId) {
  try {
    const room = await auth.request("GET", `/rooms/${roomId}`);
    follow([room]);
    if (location.hash === `#/rooms/${roomId}`) showRoom(roomId);
  } catch (error) {
    if (!(error instanceof SignedOut)) navigate("#/rooms", `That room cannot be opened: ${errorText(error)}.`);
  }
}

$("logout").addEventListener("click", async () => {
  stopChat();
  await auth.logout();
  navigate("#/login", "You are signed out.");
});

// A network that comes back should not wait out the backoff.
window.addEventListener("online", () => socket && socket.reconnectNow());
window.addEventListener("hashchange", route);
route();
