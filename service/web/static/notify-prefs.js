// Which rooms the user turned desktop notifications off for, in localStorage (kept across
// reloads and shared by the tabs), per user of this browser.

const KEY = "chat.notify.off.";

export class NotifyPrefs {
  /** storage: localStorage, or anything with getItem/setItem */
  constructor(storage) {
    this.storage = storage;
  }

  off(userId, roomId) {
    return this.#read(userId).includes(roomId);
  }

  /** Notifications on (`on`) or off for the room. */
  set(userId, roomId, on) {
    const rooms = this.#read(userId).filter((id) => id !== roomId);
    if (!on) rooms.push(roomId);
    try {
      this.storage.setItem(KEY + userId, JSON.stringify(rooms));
    } catch {
      // Storage full or refused (private mode): the choice lasts as long as nothing else.
    }
  }

  #read(userId) {
    try {
      const rooms = JSON.parse(this.storage.getItem(KEY + userId) ?? "[]");
      return Array.isArray(rooms) ? rooms.filter(Number.isInteger) : [];
    } catch {
      return [];
    }
  }
}
