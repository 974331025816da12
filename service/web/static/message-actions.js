// What the user does to messages beyond sending and editing, over REST, each answering
// with an error text ("" when done): reactions, pins; and what the page pages in for
// them: a thread's replies, a room's pinned messages, and users by name. The stream's
// frames confirm every change; they arrive on the socket, for this page as for others.

import { ApiError, SignedOut } from "./api.js";
import { errorText } from "./actions.js";

const THREAD_PAGE = 200; // the most the server gives at once
const THREAD_PAGES = 10; // a longer thread shows its first 2000 replies and what comes live

function failure(error, deleted) {
  if (error instanceof SignedOut) return "";
  if (error instanceof ApiError && error.status === 409 && /deleted/i.test(error.message)) return deleted;
  return errorText(error);
}

export class MessageActions {
  constructor(auth, state) {
    this.auth = auth;
    this.state = state;
  }

  /** Add (`add`) or take back the user's `emoji` on the message at `seq`. */
  async react(roomId, seq, emoji, add) {
    const path = `/rooms/${roomId}/messages/${seq}/reactions/${encodeURIComponent(emoji)}`;
    try {
      await this.auth.request(add ? "PUT" : "DELETE", path);
      return "";
    } catch (error) {
      return failure(error, "That message was deleted.");
    }
  }

  /** Pin (`on`) or unpin the message at `seq`. */
  async pin(roomId, seq, on) {
    try {
      await this.auth.request(on ? "PUT" : "DELETE", `/rooms/${roomId}/pins/${seq}`);
      return "";
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) return "Only the room's members pin messages.";
      return failure(error, "That message was deleted.");
    }
  }

  /** The thread of `root`, every page of it, into the state. */
  async loadThread(roomId, root) {
    let after = null;
    try {
      for (let n = 1; n <= THREAD_PAGES; n += 1) {
        const query = after === null ? `limit=${THREAD_PAGE}` : `after_seq=${after}&limit=${THREAD_PAGE}`;
        const page = await this.auth.request("GET", `/rooms/${roomId}/threads/${root}?${query}`);
        const last = page.items[page.items.length - 1];
        const complete = !page.has_more || !last;
        this.state.addThread(roomId, page, complete);
        if (complete) return "";
        after = last.seq;
      }
      return "";
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return "That thread is not there any more.";
      return error instanceof SignedOut ? "" : `The thread could not be loaded: ${errorText(error)}`;
    }
  }

  /** The room's pinned messages, into the state. */
  async loadPins(roomId) {
    try {
      const page = await this.auth.request("GET", `/rooms/${roomId}/pins`);
      this.state.setPins(roomId, page.items);
      return "";
    } catch (error) {
      return error instanceof SignedOut ? "" : `The pinned messages could not be loaded: ${errorText(error)}`;
    }
  }

  /** Users whose names start with `prefix` (ignoring case), by name. */
  async users(prefix, limit) {
    const query = new URLSearchParams({ prefix, limit: String(limit) });
    const page = await this.auth.request("GET", `/users?${query}`);
    return page.items;
  }
}
