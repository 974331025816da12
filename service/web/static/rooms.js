// The client-side state of which rooms there are: the user's rooms (members, most
// recently active first) and the public rooms they may join or are reading, each a
// RoomState (room-state.js), and the one open. ChatState (state.js) adds what happens in
// them. Views render it; they are told what changed through `onChange(what, roomId, detail)`.

import { isDirect } from "./names.js";
import { RoomState } from "./room-state.js";

export class RoomsState {
  constructor() {
    this.me = null;
    this.rooms = new Map(); // room id → RoomState
    this.currentId = null;
    this.connection = { state: "connecting", detail: "" };
    this.listeners = [];
    this.clock = 0; // activity order
    this.generation = 0; // memberships granted; a snapshot older than one does not undo it
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  /** Tell the listeners (the views) what changed. */
  changed(what, roomId = null, detail = null) {
    for (const listener of this.listeners) listener(what, roomId, detail);
  }

  get current() {
    return this.currentId === null ? null : (this.rooms.get(this.currentId) ?? null);
  }

  /** The user's rooms, the most recently active first. */
  memberRooms() {
    return [...this.rooms.values()].filter((r) => r.member).sort((a, b) => b.activity - a.activity);
  }

  /** Public rooms the user could join, by name. */
  otherRooms() {
    return [...this.rooms.values()].filter((r) => !r.member).sort((a, b) => a.room.name.localeCompare(b.room.name));
  }

  /** The sidebar's lists: the user's rooms and direct conversations (the most recently
   * active first), the public rooms to join (by name), and the unread of all but the open one. */
  sidebar() {
    const mine = this.memberRooms();
    const unreadElsewhere = mine.reduce((n, r) => n + (r.room.id === this.currentId ? 0 : r.unread), 0);
    return {
      rooms: mine.filter((r) => !isDirect(r.room)),
      direct: mine.filter((r) => isDirect(r.room)),
      others: this.otherRooms(),
      unreadElsewhere,
    };
  }

  /** The user may rename, describe and delete the room, and manage its members: its
   * owner, or an admin; nobody for a direct conversation. */
  manages(roomId) {
    const held = this.rooms.get(roomId);
    const me = this.me;
    return Boolean(held && me && !isDirect(held.room) && (me.is_admin || held.room.owner_id === me.id));
  }

  reset(me) {
    for (const room of this.rooms.values()) for (const { timer } of room.typists.values()) clearTimeout(timer);
    this.me = me;
    this.rooms = new Map();
    this.currentId = null;
    this.connection = { state: "connecting", detail: "" };
    this.changed("rooms");
  }

  setMe(me) {
    this.me = me;
  }

  // --- which rooms --------------------------------------------------------------------

  #room(room) {
    let state = this.rooms.get(room.id);
    if (state) state.room = { ...state.room, ...room };
    else {
      state = new RoomState(room, this.me ? this.me.id : null);
      state.activity = ++this.clock;
      this.rooms.set(room.id, state);
    }
    return state;
  }

  /** Rooms the user is a member of from now on (created, joined, added); the new ids. */
  addMemberRooms(rooms) {
    const added = [];
    for (const room of rooms) {
      const known = this.rooms.get(room.id);
      const state = this.#room(room);
      if (!known || !known.member) added.push(room.id);
      if (!state.member) state.activity = ++this.clock;
      state.becameMember(room.last_seq ?? 0);
      state.generation = ++this.generation;
    }
    this.changed("rooms");
    return added;
  }

  /** Public rooms from GET /rooms: those not joined are listed to join; returns the ids dropped. */
  setListedRooms(rooms) {
    const listed = new Set();
    for (const room of rooms) {
      listed.add(room.id);
      if (!room.private || this.rooms.has(room.id)) this.#room(room);
    }
    const dropped = [];
    for (const [id, state] of this.rooms) {
      if (!state.member && !listed.has(id) && id !== this.currentId) dropped.push(id);
    }
    for (const id of dropped) this.rooms.delete(id);
    this.changed("rooms");
    return dropped;
  }

  /** Another user made a public room (room_created): listed to join. */
  roomCreated(room) {
    if (!this.rooms.has(room.id) && !room.private) this.addOtherRoom(room);
  }

  /** A room renamed or described anew (room_updated, or the answer to the user's own
   * PATCH): held rooms show it; a public room not held yet is listed to join. */
  roomUpdated(room) {
    const held = this.rooms.get(room.id);
    if (!held && room.private) return;
    this.#room(room);
    this.changed("rooms");
    if (held) this.changed("room", room.id);
  }

  /** member_added: the room's member list, once loaded, has the user. */
  memberAdded(roomId, user) {
    const state = this.rooms.get(roomId);
    if (!state || !state.members) return;
    state.names.set(user.id, user.username);
    if (state.members.some((u) => u.id === user.id)) return;
    state.members = [...state.members, user].sort((a, b) => a.username.localeCompare(b.username));
    this.changed("members", roomId);
  }

  /** member_removed: the user left the room or was removed from it. */
  memberRemoved(roomId, userId) {
    const state = this.rooms.get(roomId);
    if (!state || !state.members || !state.members.some((u) => u.id === userId)) return;
    state.members = state.members.filter((u) => u.id !== userId);
    this.changed("members", roomId);
  }

  /** A room to read without joining (a link to it). */
  addOtherRoom(room) {
    this.#room(room);
    this.changed("rooms");
  }

  /** A snapshot taken when `generation` was current: GET /users/me/rooms. Returns the ids
   * that are the user's rooms now, and those that stopped being theirs (for leftRoom). */
  setMyRooms(items, generation) {
    const mine = [];
    const bumped = [];
    for (let i = items.length - 1; i >= 0; i -= 1) {
      const { room, last_read_seq: lastRead, unread, mentions } = items[i];
      const state = this.#room(room);
      if (state.activitySeq > room.last_seq) bumped.push(state);
      else state.activity = ++this.clock;
      state.activitySeq = Math.max(state.activitySeq, room.last_seq);
      state.setSnapshot(lastRead, unread, room.last_seq, mentions ?? 0);
      mine.push(room.id);
    }
    // Rooms active since the snapshot stay on top, in the order they were.
    for (const state of bumped.sort((a, b) => a.activity - b.activity)) state.activity = ++this.clock;
    const listed = new Set(mine);
    const lost = [];
    for (const [id, state] of this.rooms) {
      if (state.member && !listed.has(id) && state.generation <= generation) lost.push(id);
    }
    this.changed("rooms");
    return { mine, lost };
  }

  /** The user left, or was removed: a public room stays listed, to join again. */
  leftRoom(roomId) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    if (state.room.private || state.room.kind === "direct") return this.removeRoom(roomId);
    state.clearUnread(false);
    state.forgetMessages();
    this.changed("rooms");
    this.changed("room", roomId);
  }

  removeRoom(roomId) {
    const room = this.rooms.get(roomId);
    if (!room) return;
    for (const { timer } of room.typists.values()) clearTimeout(timer);
    this.rooms.delete(roomId);
    if (this.currentId === roomId) this.currentId = null;
    this.changed("rooms");
  }

  /** The room the user looks at (null: none). */
  open(roomId) {
    this.currentId = roomId;
    this.changed("current", roomId);
  }

  /** A room previewed without joining is forgotten when left. */
  forgetMessages(roomId) {
    const state = this.rooms.get(roomId);
    if (state && !state.member) state.forgetMessages();
  }

  welcome(roomId, room, online) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.room = { ...state.room, ...room };
    state.online = new Map(online.map((u) => [u.id, u]));
    this.changed("room", roomId);
    this.changed("rooms");
  }
}
