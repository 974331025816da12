// Desktop notifications (the Notification API): a message that mentions the user, or any
// message of a direct conversation, arriving live while the page is not looked at
// (hidden, or without focus) and not read elsewhere within a moment (another tab of the
// browser, another device), unless the user turned them off for that room
// (notify-prefs.js). Never for what was there before: a replay after (re)connecting only
// tells where each room is. The permission is asked on a click (notify-view.js).

import { mentionsUser } from "./mentions.js";
import { isDirect, roomLabel } from "./names.js";

const BODY_CHARS = 200;
/** A notification waits this long: a tab or device the user is looking at reads the
 * message meanwhile (its read frame reaches every tab), and then none is shown. */
export const READ_ELSEWHERE_MS = 1500;

export function supported() {
  return typeof globalThis.Notification === "function";
}

/** {title, body, tag} of the notification the message makes in `room` for `me`, or null. */
export function notification(room, message, me) {
  if (!room.member || message.deleted || message.thread_seq != null || message.user.id === me.id) return null;
  const direct = isDirect(room.room);
  if (!direct && !mentionsUser(message, me.id)) return null;
  const author = message.user.username;
  const title = direct ? author : `${author} in ${roomLabel(room.room, me)}`;
  const text = message.body ?? "";
  const body = text.length > BODY_CHARS ? `${text.slice(0, BODY_CHARS - 1)}…` : text;
  return { title, body, tag: `chat-room-${room.room.id}` }; // one at a time per room
}

export class Notifier {
  /** intents: open(roomId) (a notification clicked); prefs: a NotifyPrefs */
  constructor(state, intents, prefs) {
    this.state = state;
    this.intents = intents;
    this.prefs = prefs;
    this.seen = new Map(); // room id → the highest seq of its log looked at here
    state.onChange((what, roomId) => {
      if (what === "messages") this.#arrived(roomId);
      else if (what === "rooms" && !state.me) this.seen.clear();
    });
  }

  #arrived(roomId) {
    const room = this.state.rooms.get(roomId);
    const me = this.state.me;
    if (!room || !me || !room.seqs.length) return;
    const newest = room.seqs[room.seqs.length - 1];
    const since = this.seen.get(roomId) ?? room.marker ?? newest;
    this.seen.set(roomId, Math.max(since, newest));
    if (!room.synced || !this.#wanted(roomId)) return; // a replay, or not wanted now
    for (let i = room.seqs.length - 1; i >= 0 && room.seqs[i] > since; i -= 1) {
      const seq = room.seqs[i];
      const shown = room.marker === null || seq > room.marker ? notification(room, room.messages.get(seq), me) : null;
      if (shown) return this.#later(roomId, seq, shown); // the newest one of the batch
    }
  }

  #later(roomId, seq, shown) {
    setTimeout(() => {
      const room = this.state.rooms.get(roomId);
      if (!room || (room.marker !== null && room.marker >= seq) || !this.#wanted(roomId)) return;
      this.#show(roomId, shown);
    }, READ_ELSEWHERE_MS);
  }

  #wanted(roomId) {
    if (!this.state.me || !supported() || globalThis.Notification.permission !== "granted") return false;
    const looking = document.visibilityState === "visible" && document.hasFocus();
    return !looking && !this.prefs.off(this.state.me.id, roomId);
  }

  #show(roomId, { title, body, tag }) {
    try {
      const shown = new globalThis.Notification(title, { body, tag });
      shown.onclick = () => {
        globalThis.focus?.();
        this.intents.open(roomId);
        shown.close();
      };
    } catch (error) {
      // Some browsers allow notifications only from a service worker.
      console.warn("chat: the notification could not be shown", error);
    }
  }
}
