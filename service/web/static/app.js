// The page: sign-in, then the sidebar of rooms beside the open room, all on one socket.
// This module wires the socket's events into ChatState and the views' intents into REST
// calls and socket frames; the views only render state. Routes: #/login, #/rooms, #/rooms/<id>.
// The socket follows the user's rooms (for their unread counts) and the open room.
// A user's name starts a direct conversation; a search result opens its room at the message
// (a reply, its thread). Threads and pinned messages open in a pane beside the room (panes.js).

import { RoomActions, errorText } from "./actions.js";
import { SignedOut } from "./api.js";
import { backgroundNotes } from "./background-notes.js";
import { Composer } from "./composer.js";
import { Directory } from "./directory.js";
import { $ } from "./dom.js";
import { FileActions } from "./file-actions.js";
import { FileFetcher } from "./file-fetch.js";
import { HomeView } from "./home-view.js";
import { MissedPages } from "./missed.js";
import { NotifyView } from "./notify-view.js";
import { Panes } from "./panes.js";
import { Jumper } from "./jump.js";
import { PeopleView } from "./people-view.js";
import { ReactionPicker } from "./reactions.js";
import { ReadTracker } from "./reading.js";
import { roomSettings } from "./room-settings.js";
import { RoomView } from "./room-view.js";
import { Search } from "./search.js";
import { SearchView } from "./search-view.js";
import { Auth } from "./session.js";
import { SidebarView } from "./sidebar-view.js";
import { SignInView } from "./signin-view.js";
import { socketEvents } from "./socket-events.js";
import { ChatSocket } from "./socket.js";
import { ChatState } from "./state.js";
import { TypingView } from "./typing-view.js";
import { Uploader } from "./uploader.js";
import { UserMenu } from "./user-menu.js";

// One login for all tabs (session.js): signed out in another tab, out here; signed in there, restart as that user.
const auth = new Auth({
  signedOut: (reason) => navigate("#/login", `Signed out: ${reason}.`),
  signedIn: () => (stopChat(), /^#\/rooms/.test(location.hash) ? route() : navigate("#/rooms")),
});
const state = new ChatState();
let socket = null;
let notice = "";

const actions = new RoomActions(auth, state, { socket: () => socket, navigate: (...args) => navigate(...args) });
const reads = new ReadTracker(state, () => socket);
const jumper = new Jumper(auth, state);
const search = new Search(auth, state);
const directory = new Directory(auth, state, {
  mine: (roomIds) => socket && socket.subscribe(roomIds),
  lost: (roomIds) => roomIds.forEach((id) => actions.endRoom(id, "you are not a member any more")),
});
const missed = new MissedPages(actions); // what a truncated replay skipped

let loading = Promise.resolve();
let loads = 0; // in flight: the sidebar is aria-busy meanwhile

/** Both lists; why they failed shows above them (background-notes.js). */
function loadRooms() {
  loads += 1;
  $("view-rooms").setAttribute("aria-busy", "true");
  loading = directory.load().finally(() => {
    loads -= 1;
    if (loads === 0) $("view-rooms").setAttribute("aria-busy", "false");
  });
  return loading;
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
    actions.follow([room]);
    navigate(`#/rooms/${room.id}`);
  },
});

const picker = new ReactionPicker();
const panes = new Panes(auth, state, {
  socket: () => socket,
  actions,
  picker,
  show: async (roomId) => {
    navigate(`#/rooms/${roomId}`);
    if (state.rooms.has(roomId)) showRoom(roomId);
    else await openUnlisted(roomId);
    return state.currentId === roomId && !$("view-room").hidden;
  },
  reveal: (message) => openAt(message.room_id, message.seq),
});
const lookup = (prefix, limit) => panes.messages.users(prefix, limit);
backgroundNotes(state, { directory, threads: panes.threads, missed }); // why what the page asked by itself failed

new SidebarView(state, {
  open: (roomId) => navigate(`#/rooms/${roomId}`),
  message: (username) => actions.openConversation(username),
  lookup,
  refresh: () => loadRooms(),
  newRoom: () => {
    navigate("#/rooms");
    home.focusForm();
  },
});

const composer = new Composer(
  {
    send(body, files) {
      const roomId = state.currentId;
      if (roomId === null || !socket) return;
      const id = socket.send(roomId, body, null, files.map((file) => file.id));
      state.addPending(roomId, id, body, null, files);
    },
    typing: () => socket && state.currentId !== null && socket.typing(state.currentId),
    stoppedTyping: () => socket && socket.stoppedTyping(),
    editLast: () => roomView.editLast(),
  },
  new Uploader(auth),
);
const fileActions = new FileActions(new FileFetcher(auth));

const roomView = new RoomView(state, {
  switched: () => composer.switchTo(state.currentId, state.me?.id),
  back: () => navigate("#/rooms"),
  discard(clientMsgId) {
    if (socket) socket.discard(clientMsgId);
    state.discard(state.currentId, clientMsgId);
  },
  loadOlder: async () => roomView.olderFailed(await actions.loadOlder()),
  join: () => actions.join(),
  edit: (seq, body) => actions.edit(seq, body),
  remove: (seq) => actions.remove(seq),
  fillHole: () => jumper.fillHole(state.currentId),
  ...panes.roomIntents,
}, picker, reads.line);

new TypingView(state);
new NotifyView(state, { open: (roomId) => navigate(`#/rooms/${roomId}`) }); // desktop notifications

const people = new PeopleView(state, {
  addMember: (username) => actions.addMember(username),
  removeMember: (user) => actions.removeMember(user),
  leave: () => actions.leave(),
  lookup,
});

roomSettings(auth, state, { actions, panes, navigate: (...args) => navigate(...args) }); // rename, describe, delete
const userMenu = new UserMenu({ message: (username) => actions.openConversation(username) });

const searchView = new SearchView(state, {
  search: (q, options) => search.page(q, options),
  open: (message) =>
    message.thread_seq == null ? openAt(message.room_id, message.seq) : panes.openThread(message.room_id, message.thread_seq),
});

// --- navigation ---------------------------------------------------------------------

let routed = null; // the hash route() last ran for

function navigate(hash, message = "") {
  notice = message;
  if (location.hash !== hash) location.hash = hash; // hashchange routes
  else if (routed === hash) route(); // else the hashchange on its way does, with this notice
}

function route() {
  routed = location.hash;
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
  searchView.enable(Boolean(user));
  if (!user) userMenu.close(false);
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
  const page = { auth, state, actions, directory: { load: loadRooms }, missed, reads, panes, navigate };
  socket = new ChatSocket(auth, socketEvents(page));
  socket.start();
  loadRooms();
  panes.start();
}

function stopChat() {
  if (!socket) return;
  composer.reset();
  fileActions.reset();
  socket.stop();
  socket = null;
  directory.stop();
  missed.reset();
  panes.stop();
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
  actions.loadMembers(roomId);
  $("room-title").focus();
}

/** A search result: its room, scrolled to the message, with the history around it paged in. */
async function openAt(roomId, seq) {
  navigate(`#/rooms/${roomId}`);
  if (state.rooms.has(roomId)) showRoom(roomId); // now, not on the hashchange: the jump needs it open
  const problem = await jumper.reveal(roomId, seq);
  if (state.currentId === roomId && !$("view-room").hidden) roomView.reveal(seq, problem);
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
