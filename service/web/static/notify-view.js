// The controls of desktop notifications (notify.js): "Turn on notifications" in the top
// bar asks the browser's permission, only when clicked (never on load), and the open
// room's "Notifications" toggle turns them off or on for that room (notify-prefs.js).

import { $ } from "./dom.js";
import { NotifyPrefs } from "./notify-prefs.js";
import { Notifier, supported } from "./notify.js";

export class NotifyView {
  /** intents: open(roomId) (a notification clicked) */
  constructor(state, intents) {
    this.state = state;
    this.prefs = new NotifyPrefs(globalThis.localStorage);
    new Notifier(state, intents, this.prefs);
    $("notify-enable").addEventListener("click", () => this.#ask());
    $("notify-room").addEventListener("click", () => this.#toggle());
    state.onChange((what) => {
      if (what === "current" || what === "rooms") this.render();
    });
  }

  render() {
    const me = this.state.me;
    const room = this.state.current;
    const enable = $("notify-enable");
    const permission = supported() ? globalThis.Notification.permission : "unsupported";
    enable.hidden = !me || permission === "granted" || permission === "unsupported";
    enable.disabled = permission === "denied";
    enable.textContent = permission === "denied" ? "Notifications blocked" : "Turn on notifications";
    enable.title = permission === "denied" ? "The browser blocks them: allow them in its settings for this site." : "";
    const toggle = $("notify-room");
    toggle.hidden = !me || !room || !room.member || permission === "unsupported";
    if (!toggle.hidden) toggle.setAttribute("aria-pressed", String(!this.prefs.off(me.id, room.room.id)));
  }

  async #ask() {
    try {
      await globalThis.Notification.requestPermission();
    } catch (error) {
      console.warn("chat: notifications could not be asked for", error);
    }
    this.render();
  }

  #toggle() {
    const me = this.state.me;
    const room = this.state.current;
    if (!me || !room) return;
    this.prefs.set(me.id, room.room.id, this.prefs.off(me.id, room.room.id));
    this.render();
  }
}
