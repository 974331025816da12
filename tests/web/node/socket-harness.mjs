// The page's socket (socket.js) and state (state.js) wired as the page wires them
// (socket-events.js), over a WebSocket faked in memory: the test plays the server,
// frame by frame, through `ws.serve(frame)` and `ws.drop(code, reason)`.

import { ChatSocket } from "../../../service/web/static/socket.js";
import { MissedPages } from "../../../service/web/static/missed.js";
import { socketEvents } from "../../../service/web/static/socket-events.js";
import { ChatState } from "../../../service/web/static/state.js";

/** Lets the socket's awaited token arrive. */
export const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A WebSocket class whose instances are kept in `made`, the newest last. */
export function fakeWebSockets() {
  const made = [];
  class FakeWebSocket {
    static OPEN = 1;
    static CLOSED = 3;

    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = FakeWebSocket.OPEN;
      this.sent = []; // frames the client sent, parsed
      this.onmessage = null;
      this.onclose = null;
      made.push(this);
    }

    send(text) {
      if (this.readyState !== FakeWebSocket.OPEN) throw new Error("sent on a closed socket");
      this.sent.push(JSON.parse(text));
    }

    close() {
      this.readyState = FakeWebSocket.CLOSED;
    }

    /** The server sends these frames. */
    serve(...frames) {
      for (const frame of frames) this.onmessage({ data: JSON.stringify(frame) });
    }

    /** The connection ends (1006: abnormal, as a dropped network). */
    drop(code = 1006, reason = "") {
      this.readyState = FakeWebSocket.CLOSED;
      this.onclose({ code, reason });
    }

    /** The frames of this type the client sent. */
    sentOf(type) {
      return this.sent.filter((frame) => frame.type === type);
    }
  }
  return { WebSocket: FakeWebSocket, made };
}

/** A signed-in page: its state, its socket on a fake WebSocket, and what it asked of the REST side. */
export async function page(me) {
  const { WebSocket, made } = fakeWebSockets();
  const state = new ChatState();
  state.reset(me);
  const asked = { gaps: [], threadReads: [], ended: [], lists: 0 };
  const streamed = []; // [roomId, seq] in the order the socket handed them to the state
  const actions = {
    pageGap: async (roomId, after, before) => asked.gaps.push({ roomId, after, before }),
    loadMembers() {},
    follow() {},
    endRoom() {},
  };
  const events = socketEvents({
    auth: { user: me, signOut: (reason) => asked.ended.push(reason) },
    state,
    actions,
    directory: { load: async () => (asked.lists += 1) },
    missed: new MissedPages(actions),
    reads: { flush() {} },
    panes: { threads: { refresh() {} }, threadRead: (...args) => asked.threadReads.push(args) },
    navigate() {},
  });
  const stream = events.stream;
  events.stream = (roomId, frame) => {
    streamed.push([roomId, frame.seq]);
    stream(roomId, frame);
  };
  const socket = new ChatSocket({ accessToken: async () => "token" }, events, { WebSocket, url: "ws://chat.test/ws" });
  socket.start();
  await tick();
  return {
    state,
    socket,
    asked,
    streamed,
    made,
    get ws() {
      return made.at(-1);
    },
    /** The socket closed; it connects again at once (as when the network comes back). */
    async reconnect(code = 1006) {
      made.at(-1).drop(code);
      socket.reconnectNow();
      await tick();
      return made.at(-1);
    },
  };
}

/** One room of a ServerRoom (server-model.mjs) as the server serves it to a /ws socket. */
export class RoomServer {
  constructor(room, roomObject) {
    this.room = room;
    this.roomObject = roomObject;
  }

  /** Answer the client's last subscribe frame at the room's current seq; `keep`: a replay
   * limited to the last `keep` entries, truncated. */
  subscribe(ws, { keep = Infinity } = {}) {
    const ask = ws.sentOf("subscribe").at(-1).rooms.find((r) => r.room === this.room.roomId);
    const now = this.room.lastSeq;
    const since = ask.since ?? 0;
    const from = Math.max(since + 1, now - keep + 1);
    ws.serve({ type: "welcome", room: { ...this.roomObject, last_seq: now }, online: [] });
    for (let seq = from; seq <= now; seq += 1) ws.serve(this.room.frame(seq, now));
    const truncated = from > since + 1;
    ws.serve({ type: "synced", room: this.room.roomId, last_seq: now, replayed: now - from + 1, truncated });
  }
}
