// The page: sign-in, then the sidebar of rooms beside the open room, all on one socket.
// This module wires the socket's events into ChatState and the views' intents into REST
// calls and socket frames; the views only render state. Routes: #/login, #/rooms, #/rooms/<id>.
// The socket follows the user's rooms (for their unread counts) and the open room.

import { ApiError, Auth, SignedOut } from "./api.js";
import { Directory } from "./directory.js";
import { $ } from "./dom.js";
import { HomeView } from "./home-view.js";
import { PeopleView } from "./people-view.js";
import { ReadTracker } from "./reading.js";
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
let connections = 0; // hellos on this page's socket: after the first, counts are asked again
const leaving = new Set(); // rooms this page asked to leave

const reads = new ReadTracker(state, () => socket);
const directory = new Directory(auth, state, {
  mine: (roomIds) => socket && socket.subscribe(roomIds),
  lost: (roomIds) => roomIds.forEach((id) => endRoom(id, "you are not a member any more")),
});

// --- the socket's events, into the state -------------------------------------------

const socketEvents = {
  status(connection, detail) {
    if (connection !== "live") state.unsynced();
    state.setConnection(connection, detail);
  },
  hello(user) {
    state.setMe(user);
    connections += 1;
    if (connections > 1) directory.recount(); // reads made elsewhere while away are not replayed
  },
  welcome(roomId, room, online) {
    state.welcome(roomId, room, online);
  },
  stream(roomId, frame) {
    state.applyStream(roomId, [frame]);
  },
  synced(roomId, info) {
    state.synced(roomId, info);
    reads.flush(); // reads the room could not take while it was not live
  },
  gap(roomId, afterSeq, beforeSeq) {
    pageGap(roomId, afterSeq, beforeSeq).catch((error) => {
      if (!(error instanceof SignedOut)) console.warn("chat: missed messages could not be loaded", error);
    });
  },
  read(roomId, seq) {
    state.readMoved(roomId, seq);
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
    endRoom(roomId, reason);
  },
  ended(reason) {
    // signOut tells the page (Auth's callback), which shows the sign-in view with the reason.
    if (auth.user) auth.signOut(reason);
    else navigate("#/login", `Signed out: ${reason}.`);
  },
};

/** Rooms the user is a member of from now on: listed with their counts, followed on the socket. */
function follow(rooms) {
  const added = state.addMemberRooms(rooms);
  if (socket && added.length) socket.subscribe(added);
}

/** The room is not the user's any more (left, removed, deleted): a public one stays listed. */
function endRoom(roomId, reason) {
  const room = state.rooms.get(roomId);
  if (!room) return;
  const wasOpen = state.currentId === roomId;
  if (socket) socket.unsubscribe(roomId);
  if (reason === "room deleted") state.removeRoom(roomId);
  else state.leftRoom(roomId);
  if (!wasOpen) return;
  if (leaving.has(roomId)) navigate("#/rooms", `You left ${room.room.name}.`);
  else navigate("#/rooms", `You left the room: ${reason}.`);
}

/** The window (afterSeq, beforeSeq) of the stream a truncated replay skipped, oldest first:
 * GET /events answers frames exactly as the socket would have replayed them. */
async function pageGap(roomId, afterSeq, beforeSeq) {
  let after = afterSeq;
  for (;;) {
    const page = await auth.request("GET", `/rooms/${roomId}/events?after_seq=${after}&limit=${GAP_PAGE}`);
    // What the socket delivered from beforeSeq on is newer than any page: only the gap counts.
    state.applyStream(roomId, page.items.filter((frame) => frame.seq < beforeSeq));
    const last = page.items[page.items.length - 1];
    if (!page.has_more || !last || last.seq >= beforeSeq - 1) break;
    after = last.seq;
  }
  state.gapFilled(roomId);
}

let loading = Promise.resolve();

function loadRooms() {
  loading = directory.load().catch((error) => {
    if (!(error instanceof SignedOut)) $("rooms-notice").textContent = `Rooms could not be loaded: ${errorText(error)}`;
  });
  return loading;
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
  async join() {
    const roomId = state.currentId;
    try {
      await auth.request("POST", `/rooms/${roomId}/join`);
    } catch (error) {
      return errorText(error);
    }
    const room = state.rooms.get(roomId);
    if (room) follow([room.room]); // room_added follows; the open room is followed already
    loadMembers(roomId);
    return "";
  },
  async edit(seq, body) {
    const roomId = state.currentId;
    try {
      const message = await auth.request("PATCH", `/rooms/${roomId}/messages/${seq}`, { json: { body } });
      state.addMessages(roomId, [message]); // ahead of its edit frame
      return "";
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) return "This message was deleted.";
      return errorText(error);
    }
  },
  async remove(seq) {
    const roomId = state.currentId;
    try {
      await auth.request("DELETE", `/rooms/${roomId}/messages/${seq}`);
    } catch (error) {
      return errorText(error);
    }
    const message = state.rooms.get(roomId)?.messages.get(seq);
    if (message) state.addMessages(roomId, [{ ...message, deleted: true, body: null }]); // ahead of its frame
    return "";
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
});

const people = new PeopleView(state, {
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
  async leave() {
    const roomId = state.currentId;
    if (roomId === null || !state.me) return "";
    leaving.add(roomId);
    try {
      await auth.request("DELETE", `/rooms/${roomId}/members/${state.me.id}`);
    } catch (error) {
      leaving.delete(roomId);
      return errorText(error);
    }
    endRoom(roomId, "you left"); // the server ends it on this socket too
    leaving.delete(roomId);
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

/** Signed in: one socket for the whole session, following the user's rooms and the open one. */
function startChat() {
  $("view-login").hidden = true;
  $("view-chat").hidden = false;
  showTopbar();
  if (socket) return;
  state.reset(auth.user);
  connections = 0;
  socket = new ChatSocket(auth, socketEvents);
  socket.start();
  loadRooms();
}

function stopChat() {
  if (!socket) return;
  socket.stop();
  socket = null;
  directory.stop();
  reads.reset();
  state.reset(null);
}

/** The room the user looks at; a public room they have not joined is followed only meanwhile. */
function look(roomId) {
  const previous = state.currentId;
  state.open(roomId);
  const left = previous === roomId ? null : state.rooms.get(previous);
  if (left && !left.member) {
    if (socket) socket.unsubscribe(previous);
    state.forgetMessages(previous);
  }
  const room = roomId === null ? null : state.rooms.get(roomId);
  if (room && !room.member && socket) socket.subscribe([roomId]);
}

function showHome(message) {
  if (socket) socket.stoppedTyping();
  look(null);
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
  look(roomId);
  $("view-chat").dataset.screen = "room";
  $("view-home").hidden = true;
  $("view-room").hidden = false;
  roomView.show();
  people.show();
  loadMembers(roomId);
  $("room-title").focus();
}

/** A link to a room the lists do not hold (yet, or at all): wait for them, else ask for the room. */
async function openUnlisted(roomId) {
  try {
    await loading;
    if (!state.rooms.has(roomId)) state.addOtherRoom(await auth.request("GET", `/rooms/${roomId}`));
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
