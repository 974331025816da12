// A room's settings over REST (PATCH and DELETE /rooms/{id}): its owner, or an admin,
// renames it, describes it and deletes it. Each answers an error text ("" when done).
// The server tells the others of a rename (`room_updated`); a deletion ends the room on
// every member's sockets (`unsubscribed`).

import { errorText } from "./actions.js";
import { RoomSettingsView } from "./room-settings-view.js";

/** The pane wired to its REST calls; page: as for RoomSettings, and panes (Panes: a thread, the pinned list). */
export function roomSettings(auth, state, page) {
  const settings = new RoomSettings(auth, state, page);
  return new RoomSettingsView(state, {
    save: (roomId, fields) => settings.save(roomId, fields),
    remove: (roomId) => settings.remove(roomId),
    opening: () => (page.panes.thread.close(), page.panes.pins.close()), // its place beside the room
  });
}

export class RoomSettings {
  /** page: {actions: RoomActions (endRoom), navigate(hash, notice)} */
  constructor(auth, state, page) {
    this.auth = auth;
    this.state = state;
    this.page = page;
  }

  /** `fields`: {name, description}; only those that differ from the room's are sent. */
  async save(roomId, fields) {
    const held = this.state.rooms.get(roomId);
    if (!held) return "This room is not open any more.";
    const changes = {};
    if (fields.name !== held.room.name) changes.name = fields.name;
    if (fields.description !== (held.room.description ?? "")) changes.description = fields.description;
    if (!Object.keys(changes).length) return "";
    let room;
    try {
      room = await this.auth.request("PATCH", `/rooms/${roomId}`, { json: changes });
    } catch (error) {
      return errorText(error);
    }
    this.state.roomUpdated(room); // the answer may come before or after the socket's frame
    return "";
  }

  /** Deleted for everyone; the page leaves it at once, not waiting for the socket to say so. */
  async remove(roomId) {
    const name = this.state.rooms.get(roomId)?.room.name ?? "the room";
    try {
      await this.auth.request("DELETE", `/rooms/${roomId}`);
    } catch (error) {
      return errorText(error);
    }
    this.page.actions.endRoom(roomId, "room deleted"); // nothing if the socket's frame came first
    this.page.navigate("#/rooms", `You deleted ${name}.`);
    return "";
  }
}
