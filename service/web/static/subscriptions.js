// The rooms followed on the socket and each room's cursor, the highest seq of the room's
// stream received (messages, replies, edits, deletes, reactions, pins alike), and the
// frames the server sends, dispatched to the listener. After every (re)connect one
// subscribe frame resumes every room from its own cursor, so each seq reaches the
// listener once, in order, with no gap: a frame at or below the cursor (a replay
// overlapping what was live, a duplicate) is dropped here.

const STREAM_FRAMES = new Set(["message", "edit", "delete", "reaction", "pin"]);

export class Subscriptions {
  /** link: {send(frame), opened(), live()} (the connection); outbox: Outbox; listener: ChatSocket's. */
  constructor(link, outbox, listener) {
    this.link = link;
    this.outbox = outbox;
    this.listener = listener;
    this.me = null;
    this.open = false; // hello received on the current socket
    // room id → {cursor, synced, welcomed, since, firstReplayed}; cursor: highest seq delivered, null before any
    this.rooms = new Map();
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
    if (this.open) this.link.send({ type: "unsubscribe", rooms: [roomId] });
  }

  /** The socket is gone: nothing is live until the next hello and synced. */
  closed() {
    this.open = false;
    for (const sub of this.rooms.values()) sub.synced = false;
  }

  frame(frame) {
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
        // Lists kept live (room_created, room_updated, member_added, member_removed:
        // socket-events.js); pong, and frames this client does not know yet, are dropped there.
        this.listener.other(roomId, frame);
        break;
    }
  }

  #hello(frame) {
    this.me = frame.user;
    this.open = true;
    this.listener.hello(frame.user);
    this.link.opened();
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
    this.link.send({ type: "subscribe", rooms });
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
    this.link.live();
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
}
