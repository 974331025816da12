// The WebSocket to /ws itself: opening it with a fresh access token, reconnecting with
// backoff after any close a retry can fix, and ending the login on a close that says it is
// no good. It knows nothing of rooms: every frame it parses goes to `frame(frame)`.

import { SignedOut } from "./api.js";
import { Heartbeat } from "./heartbeat.js";

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15_000;

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

export class Connection {
  /**
   * auth: {accessToken({rejected})} (session.js's Auth).
   * events: frame(frame), closed() (the socket is gone, a reconnect may follow),
   *         status(state, detail) for "reconnecting" and "offline", ended(reason).
   * options: {WebSocket, url, random()}: the browser's, unless a test gives its own.
   */
  constructor(auth, events, options = {}) {
    this.auth = auth;
    this.events = events;
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.url = options.url ?? null;
    this.random = options.random ?? Math.random;
    this.socket = null;
    this.usedToken = null;
    this.rejectedToken = undefined; // closed "token expired": refresh before reconnecting
    this.stopped = false;
    this.attempt = 0;
    this.reconnectTimer = 0;
    this.heartbeat = new Heartbeat(
      () => this.send({ type: "ping" }),
      () => this.#silent(),
    );
  }

  start() {
    this.#connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
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

  /** The server said hello: pings keep the connection honest from now on. */
  opened() {
    this.heartbeat.start();
  }

  /** Every room is live again: the next disconnect starts the backoff from the beginning. */
  live() {
    this.attempt = 0;
  }

  /** A frame goes out only on an open socket (a reconnect resends what must). */
  send(frame) {
    if (this.socket && this.socket.readyState === this.WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
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
    const socket = new this.WebSocket(this.url ?? socketUrl(), socketProtocols(token));
    this.socket = socket;
    this.usedToken = token;
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.heartbeat.heard();
      this.events.frame(frame);
    };
    socket.onclose = (event) => {
      if (socket === this.socket) this.#closed(event.code, event.reason);
    };
  }

  #closed(code, reason) {
    this.socket = null;
    this.heartbeat.stop();
    this.events.closed();
    if (this.stopped) return;
    if (code === 1008 && reason === "token expired") {
      this.rejectedToken = this.usedToken;
      return this.#retryLater("token expired", reason);
    }
    if (code === 1008 && LOGIN_REASONS.has(reason)) return this.#end(reason);
    if (code === 1008) {
      // Refused for a reason a retry cannot fix (origin not allowed): say so and stop.
      this.stop();
      return this.events.status("offline", reason || "access refused");
    }
    // 1011, 1012, 1013, abnormal closes, an unreachable server: all reconnect and resume.
    return this.#retryLater(String(code), reason);
  }

  #retryLater(code, reason) {
    if (this.stopped) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt) * (0.5 + this.random());
    this.attempt += 1;
    this.events.status("reconnecting", reason || (code === "1012" ? "server restarting" : ""));
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #end(reason) {
    if (this.stopped) return; // the page already moved on
    this.stop();
    this.events.ended(reason);
  }

  #silent() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    socket.close();
    this.#closed(1006, "no answer from the server");
  }
}
