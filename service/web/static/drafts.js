// What the user was writing in each room: kept while they switch rooms and, in the tab's
// sessionStorage (given), across a reload. Keyed by user, so a sign-in as someone else
// never sees another's drafts. Storage that fails (full, off) only loses the reload part.

const MAX_DRAFTS = 100; // rooms with a draft kept; the one written longest ago goes first

export class Drafts {
  /** storage: a Storage (sessionStorage) or null; userId: whose drafts */
  constructor(storage, userId) {
    this.storage = storage;
    this.key = `chat.drafts.${userId}`;
    this.drafts = this.#load();
  }

  get(roomId) {
    return this.drafts.get(String(roomId)) ?? "";
  }

  set(roomId, text) {
    const key = String(roomId);
    this.drafts.delete(key);
    if (text) this.drafts.set(key, text);
    while (this.drafts.size > MAX_DRAFTS) this.drafts.delete(this.drafts.keys().next().value);
    this.#save();
  }

  clear() {
    this.drafts.clear();
    try {
      this.storage?.removeItem(this.key);
    } catch {
      // nothing kept to forget
    }
  }

  #load() {
    const drafts = new Map();
    try {
      const kept = JSON.parse(this.storage?.getItem(this.key) ?? "{}");
      for (const [roomId, text] of Object.entries(kept ?? {})) {
        if (typeof text === "string" && text) drafts.set(roomId, text);
      }
    } catch {
      // unreadable: start without drafts
    }
    return drafts;
  }

  #save() {
    try {
      this.storage?.setItem(this.key, JSON.stringify(Object.fromEntries(this.drafts)));
    } catch {
      // full or refused: the drafts stay in this page only
    }
  }
}
