// What the user does to the open room, its messages and its members over REST, each
// answering with an error text ("" when done), and what the page pages in: older
// history, and the part of the stream a truncated replay skipped. Results go into
// ChatState ahead of the frames that will confirm them (merging them changes nothing).

import { ApiError, SignedOut } from "./api.js";

const HISTORY_PAGE = 50;
const GAP_PAGE = 200;
// Why a room stops being the user's while it stays readable (a public room stays listed).
const STAYS_LISTED = new Set(["removed from room", "you left", "you are not a member any more"]);

export function errorText(error) {
  if (error instanceof ApiError || error instanceof SignedOut) return error.message;
  return "the server cannot be reached; try again";
}

export class RoomActions {
  /** page: {socket() → ChatSocket | null, navigate(hash, notice)} */
  constructor(auth, state, page) {
    this.auth = auth;
    this.state = state;
    this.page = page;
    this.leaving = new Set(); // rooms this page asked to leave
    this.loadingOlder = false;
  }

  // --- membership ---------------------------------------------------------------------

  /** Rooms the user is a member of from now on: listed with their counts, followed on the socket. */
  follow(rooms) {
    const added = this.state.addMemberRooms(rooms);
    const socket = this.page.socket();
    if (socket && added.length) socket.subscribe(added);
  }

  /** The room is not the user's any more (left, removed, deleted, gone). */
  endRoom(roomId, reason) {
    const { state } = this;
    const room = state.rooms.get(roomId);
    if (!room) return;
    const wasOpen = state.currentId === roomId;
    const socket = this.page.socket();
    if (socket) socket.unsubscribe(roomId);
    if (STAYS_LISTED.has(reason)) state.leftRoom(roomId);
    else state.removeRoom(roomId);
    if (!wasOpen) return;
    if (this.leaving.has(roomId)) this.page.navigate("#/rooms", `You left ${room.room.name}.`);
    else this.page.navigate("#/rooms", `You left the room: ${reason}.`);
  }

  /** The direct conversation with `username`, made the first time, then opened. */
  async openConversation(username) {
    let room;
    try {
      room = await this.auth.request("POST", "/dms", { json: { username } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return `There is no user ${username}.`;
      if (error instanceof ApiError && error.status === 422) return `You cannot write to ${username} directly.`;
      return errorText(error);
    }
    this.follow([room]); // room_added says so too, on each of the two users' sockets
    this.page.navigate(`#/rooms/${room.id}`);
    return "";
  }

  async join() {
    const roomId = this.state.currentId;
    try {
      await this.auth.request("POST", `/rooms/${roomId}/join`);
    } catch (error) {
      return errorText(error);
    }
    const room = this.state.rooms.get(roomId);
    if (room) this.follow([room.room]); // room_added says so too; the open room is followed already
    this.loadMembers(roomId);
    return "";
  }

  async leave() {
    const roomId = this.state.currentId;
    if (roomId === null || !this.state.me) return "";
    this.leaving.add(roomId);
    try {
      await this.auth.request("DELETE", `/rooms/${roomId}/members/${this.state.me.id}`);
      this.endRoom(roomId, "you left"); // the server ends it on the user's sockets too
      return "";
    } catch (error) {
      return errorText(error);
    } finally {
      this.leaving.delete(roomId);
    }
  }

  async loadMembers(roomId) {
    try {
      const page = await this.auth.request("GET", `/rooms/${roomId}/members`);
      this.state.setMembers(roomId, page.items);
    } catch (error) {
      if (error instanceof SignedOut) return;
      this.state.setMembers(roomId, null, `Members could not be loaded: ${errorText(error)}`);
    }
  }

  async addMember(username) {
    const roomId = this.state.currentId;
    try {
      await this.auth.request("POST", `/rooms/${roomId}/members`, { json: { username } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && error.message === "user not found") {
        return `There is no user ${username}.`;
      }
      if (error instanceof ApiError && error.status === 409) return `${username} is a member already.`;
      return errorText(error);
    }
    await this.loadMembers(roomId);
    return "";
  }

  async removeMember(user) {
    const roomId = this.state.currentId;
    try {
      await this.auth.request("DELETE", `/rooms/${roomId}/members/${user.id}`);
    } catch (error) {
      return errorText(error);
    }
    await this.loadMembers(roomId);
    return "";
  }

  // --- messages -----------------------------------------------------------------------

  async edit(seq, body) {
    const roomId = this.state.currentId;
    try {
      const message = await this.auth.request("PATCH", `/rooms/${roomId}/messages/${seq}`, { json: { body } });
      this.#changedHere(roomId, message);
      return "";
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) return "This message was deleted.";
      return errorText(error);
    }
  }

  async remove(seq) {
    const roomId = this.state.currentId;
    try {
      await this.auth.request("DELETE", `/rooms/${roomId}/messages/${seq}`);
    } catch (error) {
      return errorText(error);
    }
    const message = this.state.rooms.get(roomId)?.messages.get(seq);
    const gone = { deleted: true, body: null, reactions: [], pinned: false, mentions: [], mentions_room: false };
    if (message) this.#changedHere(roomId, { ...message, ...gone });
    return "";
  }

  /** A message as a change answered it, ahead of its frame: in the log only if it was there. */
  #changedHere(roomId, message) {
    const room = this.state.rooms.get(roomId);
    this.state.addMessages(roomId, [message], { log: Boolean(room && room.inLog(message.seq)) });
  }

  /** The page of history before the oldest message held; an error text, "" when done. */
  async loadOlder() {
    const room = this.state.current;
    if (!room || this.loadingOlder) return "";
    this.loadingOlder = true;
    const roomId = room.room.id;
    try {
      const query = `before_seq=${room.oldestSeq}&limit=${HISTORY_PAGE}`;
      const page = await this.auth.request("GET", `/rooms/${roomId}/messages?${query}`);
      this.state.addMessages(roomId, page.items);
      return "";
    } catch (error) {
      return error instanceof SignedOut ? "" : errorText(error);
    } finally {
      this.loadingOlder = false;
    }
  }

  /** The window (afterSeq, beforeSeq) of the stream a truncated replay skipped, oldest first:
   * GET /events answers frames exactly as the socket would have replayed them. */
  async pageGap(roomId, afterSeq, beforeSeq) {
    let after = afterSeq;
    for (;;) {
      const page = await this.auth.request("GET", `/rooms/${roomId}/events?after_seq=${after}&limit=${GAP_PAGE}`);
      // What the socket delivered from beforeSeq on is newer than any page: only the gap counts.
      this.state.applyStream(roomId, page.items.filter((frame) => frame.seq < beforeSeq));
      const last = page.items[page.items.length - 1];
      if (!page.has_more || !last || last.seq >= beforeSeq - 1) break;
      after = last.seq;
    }
    this.state.gapFilled(roomId);
  }
}
