// One room's live connection: welcome → replay → synced → live, reconnecting with
// `since` so every seq is shown once, and sends that survive reconnects.

import { SignedOut } from "./api.js";

const PING_EVERY_MS = 25_000;
const PONG_WITHIN_MS = 10_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const TYPING_EVERY_MS = 2000;
const TYPING_MARGIN_MS = 150;
const RESEND_MAX_MS = 10_000;

// 1008 reasons that mean the login itself is no good; the others are about the room.
const LOGIN_REASONS = new Set(["missing token", "invalid token", "token revoked"]);

/** crypto.randomUUID exists only in secure contexts; plain http on a LAN address is not one. */
export function newClientMsgId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function socketUrl(roomId, since) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/ws/rooms/${encodeURIComponent(roomId)}`;
  return since === null ? url : `${url}?since=${since}`;
}

// The token travels as a subprotocol offer, not in the URL: the browser prints the
// URL of a socket that fails to connect in the console. The server selects chat.v1.json.
function socketProtocols(token) {
  return ["chat.v1.json", `chat.token.${token}`];
}

/**
 * Events go to `view`:
 *   status(state, detail)        state: "connecting" | "live" | "reconnecting"
 *   welcome(room, user, online)  online: [User], or null from a server without presence
 *   message(message)             a message of the room's stream, in seq order (may repeat a seq
 *                                the view already has from history: the view dedupes by seq)
 *   gap(afterSeq, beforeSeq)     the replay was truncated: page this window over REST
 *   acknowledged(clientMsgId)    a pending send is stored
 *   failed(clientMsgId, detail)  a pending send was refused for good
 *   typing(user), presence(event, user)
 *   ended(where, reason)         where: "rooms" | "login"; the feed is over
 */
export class RoomFeed {
  constructor(roomId, auth, view) {
    this.roomId = roomId;
    this.auth = auth;
    this.view = view;
    this.me = null;
    this.lastSeq = null; // highest seq of the stream shown; null before the first synced
    this.pending = new Map(); // client_msg_id → {body, resendTimer, attempts}
    this.socket = null;
    this.usedToken = null; // the token the current socket was opened with
    this.rejectedToken = undefined; // closed "token expired": refresh before reconnecting
    this.since = null; // the since of the current connection
    this.firstReplayed = null; // its first replayed seq: where a truncated gap ends
    this.live = false;
    this.stopped = false;
    this.attempt = 0;
    this.reconnectTimer = 0;
    this.pingTimer = 0;
    this.pongTimer = 0;
    this.lastTypingSent = 0;
    this.typingTimer = 0;
  }

  start() {
    this.view.status("connecting", "");
    this.#connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.stoppedTyping();
    this.#stopPinging();
    for (const entry of this.pending.values()) clearTimeout(entry.resendTimer);
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

  /** Queue a message; it is sent now if live, else after the next synced. */
  send(body) {
    this.stoppedTyping();
    const id = newClientMsgId();
    this.pending.set(id, { body, resendTimer: 0, attempts: 0 });
    if (this.live) this.#transmit(id);
    return id;
  }

  discard(clientMsgId) {
    const entry = this.pending.get(clientMsgId);
    if (entry) clearTimeout(entry.resendTimer);
    this.pending.delete(clientMsgId);
  }

  /** The user is typing; the server hears it at most once per 2 s. Typing inside the
   * window is sent when it ends, so a short burst right after a send is not lost. */
  typing() {
    if (!this.live || this.typingTimer) return;
    // A little over 2 s apart: the server counts from when frames arrive, and drops early ones.
    const wait = this.lastTypingSent + TYPING_EVERY_MS + TYPING_MARGIN_MS - Date.now();
    if (wait <= 0) return this.#sendTyping();
    this.typingTimer = setTimeout(() => this.#sendTyping(), wait);
  }

  /** The input was emptied or sent: no typing frame is due any more. */
  stoppedTyping() {
    clearTimeout(this.typingTimer);
    this.typingTimer = 0;
  }

  #sendTyping() {
    this.typingTimer = 0;
    if (!this.live) return;
    this.lastTypingSent = Date.now();
    this.#sendFrame({ type: "typing" });
  }

  async #connect() {
    if (this.stopped) return;
    let token;
    try {
      token = await this.auth.accessToken({ rejected: this.rejectedToken });
    } catch (error) {
      if (error instanceof SignedOut) return this.#end("login", error.message);
      return this.#retryLater("", ""); // the refresh could not reach the server
    }
    if (this.stopped) return;
    this.rejectedToken = undefined;
    const socket = new WebSocket(socketUrl(this.roomId, this.lastSeq), socketProtocols(token));
    this.socket = socket;
    this.usedToken = token;
    this.since = this.lastSeq;
    this.firstReplayed = null;
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.#heard();
      this.#frame(frame);
    };
    socket.onclose = (event) => {
      if (socket === this.socket) this.#closed(event.code, event.reason);
    };
  }

  #frame(frame) {
    switch (frame.type) {
      case "welcome":
        this.me = frame.user;
        this.view.welcome(frame.room, frame.user, Array.isArray(frame.online) ? frame.online : null);
        break;
      case "message":
        this.#message(frame);
        break;
      case "synced":
        this.#synced(frame);
        break;
      case "typing":
        if (frame.user && (!this.me || frame.user.id !== this.me.id)) this.view.typing(frame.user);
        break;
      case "presence":
        if (frame.user && (frame.event === "join" || frame.event === "leave")) {
          this.view.presence(frame.event, frame.user);
        }
        break;
      case "error":
        this.#error(frame);
        break;
      default:
        break; // pong, and frames this client does not know yet
    }
  }

  #message(frame) {
    if (frame.client_msg_id && this.me && frame.user.id === this.me.id) this.#acknowledge(frame.client_msg_id);
    // A duplicate is the answer to a resend: the stream carries (or carried) that seq already.
    if (frame.duplicate) return;
    if (this.lastSeq !== null && frame.seq <= this.lastSeq) return;
    if (!this.live && this.firstReplayed === null) this.firstReplayed = frame.seq;
    this.lastSeq = frame.seq;
    const { type: _type, duplicate: _duplicate, ...message } = frame;
    this.view.message(message);
  }

  #synced(frame) {
    const since = this.since;
    this.lastSeq = Math.max(this.lastSeq ?? 0, frame.last_seq);
    this.live = true;
    this.attempt = 0;
    this.view.status("live", "");
    if (frame.truncated && since !== null) {
      this.view.gap(since, this.firstReplayed ?? frame.last_seq + 1);
    }
    this.#startPinging();
    // Anything not echoed yet goes again with the same id: the server stores it once.
    for (const id of this.pending.keys()) this.#transmit(id);
  }

  #acknowledge(id) {
    const entry = this.pending.get(id);
    if (!entry) return;
    clearTimeout(entry.resendTimer);
    this.pending.delete(id);
    this.view.acknowledged(id);
  }

  #error(frame) {
    const id = frame.client_msg_id;
    const entry = id ? this.pending.get(id) : undefined;
    if (!entry) {
      console.warn("chat: server error frame", frame.code, frame.detail);
      return;
    }
    if (frame.code === "unavailable" || frame.code === "rate_limited") {
      entry.attempts += 1;
      const wait =
        frame.code === "rate_limited"
          ? Number(frame.retry_after_ms) || 1000
          : Math.min(RESEND_MAX_MS, 500 * 2 ** entry.attempts);
      clearTimeout(entry.resendTimer);
      entry.resendTimer = setTimeout(() => {
        if (this.live && this.pending.has(id)) this.#transmit(id);
      }, wait);
      return;
    }
    this.pending.delete(id);
    this.view.failed(id, frame.detail || frame.code);
  }

  #transmit(id) {
    const entry = this.pending.get(id);
    if (entry) this.#sendFrame({ type: "message", body: entry.body, client_msg_id: id });
  }

  #sendFrame(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  #closed(code, reason) {
    this.socket = null;
    this.live = false;
    this.#stopPinging();
    if (this.stopped) return;
    if (code === 1008 && reason === "token expired") {
      this.rejectedToken = this.usedToken;
      return this.#retryLater("token expired", reason);
    }
    if (code === 1008) {
      if (LOGIN_REASONS.has(reason)) return this.#end("login", reason);
      return this.#end("rooms", reason || "access refused");
    }
    if (code === 1001 && reason === "room deleted") return this.#end("rooms", reason);
    // 1011, 1012, 1013, abnormal closes, an unreachable server: all reconnect with since.
    return this.#retryLater(String(code), reason);
  }

  #retryLater(code, reason) {
    if (this.stopped) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt) * (0.5 + Math.random());
    this.attempt += 1;
    this.view.status("reconnecting", reason || (code === "1012" ? "server restarting" : ""));
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #end(where, reason) {
    if (this.stopped) return; // the page already moved on
    this.stop();
    this.view.ended(where, reason);
  }

  // Pings find a dead connection that never closes (a laptop waking up, a dropped NAT entry).
  #startPinging() {
    this.#stopPinging();
    this.pingTimer = setInterval(() => {
      this.#sendFrame({ type: "ping" });
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.#silent(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  #stopPinging() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  #heard() {
    clearTimeout(this.pongTimer);
  }

  #silent() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    socket.close();
    this.#closed(1006, "no answer from the server");
  }
}
