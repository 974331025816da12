// The one socket to /ws: its subscriptions and each room's cursor, the highest seq of
// the room's stream received (messages, replies, edits, deletes, reactions, pins alike). After every
// (re)connect one subscribe frame resumes every room from its own cursor, so each seq
// reaches the listener once, in order, with no gap. What the page sends besides
// subscriptions (messages, typing, reads) goes through the Outbox (outbox.js).

import { SignedOut } from "./api.js";
import { Heartbeat } from "./heartbeat.js";
import { Outbox } from "./outbox.js";

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const STREAM_FRAMES = new Set(["message", "edit", "delete", "reaction", "pin"]);

// 1008 reasons that mean the login itself is no good.
const LOGIN_REASONS = new Set(["missing token", "invalid token", "token revoked"]);

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

// The token travels as a subprotocol offer, never in the URL: the browser prints the
// URL of a socket that fails to connect in the console. The server selects chat.v1.json.
function socketProtocols(token) {
  return ["chat.v1.json", `chat.token.${token}`];
}

/**
 * Events go to `listener`:
 *   status(state, detail)             state: "connecting" | "live" | "reconnecting" | "offline"
 *   hello(user)                       on every (re)connect
 *   welcome(roomId, room, online)     online: [User]
 *   stream(roomId, frame)             a frame of the stream (message, edit, delete, reaction, pin) above
 *                                     the room's cursor, in seq order
 *   synced(roomId, info)              the room is live; info {since, firstReplayed, lastSeq, truncated}
 *   gap(roomId, afterSeq, beforeSeq)  a truncated replay skipped this window: page it over REST
 *   read(roomId, seq, thread)         the user's marker moved (another device, or REST); thread: the
 *                                     root's seq when it is the marker of a thread, else null
 *   acknowledged(roomId, clientMsgId) a pending send is stored
 *   failed(roomId, clientMsgId, detail)
 *   typing(roomId, user), presence(roomId, event, user)
 *   roomAdded(room)                   the user became a member of a room
 *   other(roomId, frame)              any other frame (roomId: its room's id, or null)
 *   roomEnded(roomId, reason)         the room is gone for this user (deleted, removed, not found)
 *   ended(reason)                     the login is no good any more; the socket is stopped
 */
export class ChatSocket {
  constructor(auth, listener) {
    this.auth = auth;
    this.listener = listener;
    this.me = null;
    // room id → {cursor, synced, welcomed, since, firstReplayed}; cursor: highest seq delivered, null before any
    this.rooms = new Map();
    this.outbox = new Outbox(this, listener);
    this.socket = null;
    this.open = false; // hello received on the current socket
    this.usedToken = null;
    this.rejectedToken = undefined; // closed "token expired": refresh before reconnecting
    this.stopped = false;
    this.attempt = 0;
    this.reconnectTimer = 0;
    this.heartbeat = new Heartbeat(
      () => this.sendFrame({ type: "ping" }),
      () => this.#silent(),
    );
  }

  start() {
    this.listener.status("connecting", "");
    this.#connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.outbox.stop();
    this.heartbeat.stop();
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000);
    }
  }

  /** Skip the backoff wait (the network came back). */
  reconnectNow() {
    if (this.stopped || this.socket) return;
    clearTimeout(this.reconnectTimer);
    this.#connect();
  }

  isSynced(roomId) {
    const sub = this.rooms.get(roomId);
    return Boolean(this.open && sub && sub.synced);
  }

  cursor(roomId) {
    const sub = this.rooms.get(roomId);
    return sub ? sub.cursor : null;
  }

  /** Follow these rooms; those already followed keep their stream. */
  subscribe(roomIds) {
    const added = [];
    for (const id of roomIds) {
      if (this.rooms.has(id)) continue;
      this.rooms.set(id, { cursor: null, synced: false, welcomed: false, since: null, firstReplayed: null });
      added.push(id);
    }
    if (added.length && this.open) this.#sendSubscribe(added);
  }

  /** Stop following a room, here and on the server. */
  unsubscribe(roomId) {
    if (!this.rooms.delete(roomId)) return;
    this.outbox.dropRoom(roomId);
    if (this.open) this.sendFrame({ type: "unsubscribe", rooms: [roomId] });
  }

  // What the page sends: see outbox.js.
  send(roomId, body, threadSeq = null, fileIds = []) {
    return this.outbox.send(roomId, body, threadSeq, fileIds);
  }

  discard(clientMsgId) {
    this.outbox.discard(clientMsgId);
  }

  read(roomId, seq, thread = null) {
    return this.outbox.read(roomId, seq, thread);
  }

  typing(roomId) {
    this.outbox.typing(roomId);
  }

  stoppedTyping() {
    this.outbox.stoppedTyping();
  }

  async #connect() {
    if (this.stopped) return;
    let token;
    try {
      token = await this.auth.accessToken({ rejected: this.rejectedToken });
    } catch (error) {
      if (error instanceof SignedOut) return this.#end(error.message);
      return this.#retryLater("", ""); // the refresh could not reach the server
    }
    if (this.stopped) return;
    this.rejectedToken = undefined;
    const socket = new WebSocket(socketUrl(), socketProtocols(token));
    this.socket = socket;
    this.usedToken = token;
    this.open = false;
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.heartbeat.heard();
      this.#frame(frame);
    };
    socket.onclose = (event) => {
      if (socket === this.socket) this.#closed(event.code, event.reason);
    };
  }

  #frame(frame) {
    const roomId = typeof frame.room === "number" ? frame.room : null;
    switch (frame.type) {
      case "hello":
        this.#hello(frame);
        break;
      case "welcome":
        if (frame.room && this.rooms.has(frame.room.id)) {
          this.rooms.get(frame.room.id).welcomed = true;
          this.listener.welcome(frame.room.id, frame.room, Array.isArray(frame.online) ? frame.online : []);
        }
        break;
      case "message":
      case "edit":
      case "delete":
      case "reaction":
      case "pin":
        if (roomId !== null) this.#stream(roomId, frame);
        break;
      case "read":
        if (roomId !== null && Number.isInteger(frame.seq)) {
          this.listener.read(roomId, frame.seq, Number.isInteger(frame.thread) ? frame.thread : null);
        }
        break;
      case "synced":
        if (roomId !== null) this.#synced(roomId, frame);
        break;
      case "typing":
        if (roomId !== null && this.rooms.has(roomId) && frame.user && (!this.me || frame.user.id !== this.me.id)) {
          this.listener.typing(roomId, frame.user);
        }
        break;
      case "presence":
        if (roomId !== null && this.rooms.has(roomId) && frame.user && (frame.event === "join" || frame.event === "leave")) {
          this.listener.presence(roomId, frame.event, frame.user);
        }
        break;
      case "unsubscribed":
        if (roomId !== null && frame.reason !== "requested") this.#roomEnded(roomId, frame.reason || "access ended");
        break;
      case "room_added":
        if (frame.room) this.listener.roomAdded(frame.room);
        break;
      case "error":
        this.#error(roomId, frame);
        break;
      default:
        // Lists kept live (room_created, member_added, member_removed: socket-events.js);
        // pong, and frames this client does not know yet, are dropped there.
        this.listener.other(roomId, frame);
        break;
    }
  }

  #hello(frame) {
    this.me = frame.user;
    this.open = true;
    this.listener.hello(frame.user);
    this.heartbeat.start();
    if (this.rooms.size) this.#sendSubscribe([...this.rooms.keys()]);
    else this.#live();
  }

  /** One frame for all of them, each from its own cursor. */
  #sendSubscribe(roomIds) {
    const rooms = roomIds.map((id) => {
      const sub = this.rooms.get(id);
      sub.synced = false;
      sub.welcomed = false; // frames of a subscription that came before this one are not its stream
      sub.since = sub.cursor;
      sub.firstReplayed = null;
      return { room: id, since: sub.cursor };
    });
    this.sendFrame({ type: "subscribe", rooms });
  }

  #stream(roomId, frame) {
    if (frame.type === "message" && frame.client_msg_id && this.me && frame.user.id === this.me.id) {
      this.outbox.acknowledge(frame.client_msg_id);
    }
    // A duplicate is the answer to a resend: the stream carries (or carried) that seq already.
    if (frame.duplicate || !STREAM_FRAMES.has(frame.type)) return;
    const sub = this.rooms.get(roomId);
    if (!sub || !sub.welcomed) return;
    if (sub.cursor !== null && frame.seq <= sub.cursor) return;
    if (!sub.synced && sub.firstReplayed === null) sub.firstReplayed = frame.seq;
    sub.cursor = frame.seq;
    const { room: _room, duplicate: _duplicate, ...rest } = frame;
    this.listener.stream(roomId, rest);
  }

  #synced(roomId, frame) {
    const sub = this.rooms.get(roomId);
    if (!sub || !sub.welcomed) return;
    sub.cursor = Math.max(sub.cursor ?? 0, frame.last_seq);
    sub.synced = true;
    const truncated = Boolean(frame.truncated) && sub.since !== null;
    const info = { since: sub.since, firstReplayed: sub.firstReplayed, lastSeq: sub.cursor, truncated };
    this.listener.synced(roomId, info);
    if (truncated) this.listener.gap(roomId, sub.since, sub.firstReplayed ?? frame.last_seq + 1);
    this.#live();
    this.outbox.synced(roomId);
  }

  #live() {
    this.attempt = 0;
    this.listener.status("live", "");
  }

  #roomEnded(roomId, reason) {
    if (!this.rooms.delete(roomId)) return;
    this.outbox.dropRoom(roomId);
    this.listener.roomEnded(roomId, reason);
  }

  #error(roomId, frame) {
    if (roomId !== null && (frame.code === "room_not_found" || frame.code === "too_many_rooms")) {
      return this.#roomEnded(roomId, frame.detail || frame.code);
    }
    if (roomId !== null && frame.code === "not_subscribed" && this.rooms.has(roomId) && this.open) {
      return this.#sendSubscribe([roomId]); // the server forgot it: resume from the cursor
    }
    if (this.outbox.error(frame)) return;
    if (frame.code !== "already_subscribed") console.warn("chat: server error frame", frame.code, frame.detail);
  }

  /** For the Outbox: a frame goes out only on an open socket (a reconnect resends what must). */
  sendFrame(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  #closed(code, reason) {
    this.socket = null;
    this.open = false;
    for (const sub of this.rooms.values()) sub.synced = false;
    this.heartbeat.stop();
    if (this.stopped) return;
    if (code === 1008 && reason === "token expired") {
      this.rejectedToken = this.usedToken;
      return this.#retryLater("token expired", reason);
    }
    if (code === 1008 && LOGIN_REASONS.has(reason)) return this.#end(reason);
    if (code === 1008) {
      // Refused for a reason a retry cannot fix (origin not allowed): say so and stop.
      this.stop();
      return this.listener.status("offline", reason || "access refused");
    }
    // 1011, 1012, 1013, abnormal closes, an unreachable server: all reconnect and resume.
    return this.#retryLater(String(code), reason);
  }

  #retryLater(code, reason) {
    if (this.stopped) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt) * (0.5 + Math.random());
    this.attempt += 1;
    this.listener.status("reconnecting", reason || (code === "1012" ? "server restarting" : ""));
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #end(reason) {
    if (this.stopped) return; // the page already moved on
    this.stop();
    this.listener.ended(reason);
  }

  #silent() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    socket.close();
    this.#closed(1006, "no answer from the server");
  }
}
