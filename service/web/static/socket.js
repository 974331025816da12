// The page's one socket to /ws, put together from its parts: the connection itself
// (connection.js: token, reconnects with backoff, heartbeat, closes), the rooms followed
// and their cursors, with the frames dispatched in seq order (subscriptions.js), and what
// the page sends besides subscriptions (outbox.js: messages, typing, reads).

import { Connection } from "./connection.js";
import { Outbox } from "./outbox.js";
import { Subscriptions } from "./subscriptions.js";

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
 *
 * options: as Connection's ({WebSocket, url, random}), for tests.
 */
export class ChatSocket {
  constructor(auth, listener, options = {}) {
    this.listener = listener;
    this.outbox = new Outbox(this, listener);
    this.connection = new Connection(
      auth,
      {
        frame: (frame) => this.subscriptions.frame(frame),
        closed: () => this.subscriptions.closed(),
        status: (state, detail) => {
          if (state === "offline") this.outbox.stop();
          listener.status(state, detail);
        },
        ended: (reason) => {
          this.outbox.stop();
          listener.ended(reason);
        },
      },
      options,
    );
    this.subscriptions = new Subscriptions(
      {
        send: (frame) => this.connection.send(frame),
        opened: () => this.connection.opened(),
        live: () => this.connection.live(),
      },
      this.outbox,
      listener,
    );
  }

  start() {
    this.listener.status("connecting", "");
    this.connection.start();
  }

  stop() {
    this.outbox.stop();
    this.connection.stop();
  }

  /** Skip the backoff wait (the network came back). */
  reconnectNow() {
    this.connection.reconnectNow();
  }

  isSynced(roomId) {
    return this.subscriptions.isSynced(roomId);
  }

  cursor(roomId) {
    return this.subscriptions.cursor(roomId);
  }

  /** Follow these rooms; those already followed keep their stream. */
  subscribe(roomIds) {
    this.subscriptions.subscribe(roomIds);
  }

  /** Stop following a room, here and on the server. */
  unsubscribe(roomId) {
    this.subscriptions.unsubscribe(roomId);
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

  /** For the Outbox: a frame goes out only on an open socket. */
  sendFrame(frame) {
    this.connection.send(frame);
  }
}
