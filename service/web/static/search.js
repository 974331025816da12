// Search over REST (GET /search): pages of the messages the user may read that match,
// newest first, with the names of their rooms (a room this page does not list is asked
// for once). The words go to the server as typed; it decides what they match.

import { roomLabel } from "./names.js";

const PAGE = 20;

export class Search {
  constructor(auth, state) {
    this.auth = auth;
    this.state = state;
    this.names = new Map(); // room id → Promise<{name, direct}> of rooms not listed here
  }

  /** {items, has_more, rooms: Map room id → {name, direct}}; throws what the request threw. */
  async page(q, { roomId = null, beforeId = null } = {}) {
    const params = new URLSearchParams({ q, limit: String(PAGE) });
    if (roomId !== null) params.set("room_id", String(roomId));
    if (beforeId !== null) params.set("before_id", String(beforeId));
    const page = await this.auth.request("GET", `/search?${params}`);
    const ids = [...new Set(page.items.map((message) => message.room_id))];
    const rooms = new Map(await Promise.all(ids.map(async (id) => [id, await this.#room(id)])));
    return { items: page.items, has_more: page.has_more, rooms };
  }

  #room(roomId) {
    const known = this.state.rooms.get(roomId);
    if (known) return this.#named(known.room);
    if (!this.names.has(roomId)) {
      const asked = this.auth.request("GET", `/rooms/${roomId}`).then(
        (room) => this.#named(room),
        () => {
          this.names.delete(roomId); // asked again next time
          return { name: `room ${roomId}`, direct: false };
        },
      );
      this.names.set(roomId, asked);
    }
    return this.names.get(roomId);
  }

  #named(room) {
    return { name: roomLabel(room, this.state.me), direct: room.kind === "direct" };
  }
}
