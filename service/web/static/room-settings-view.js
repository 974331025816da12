// The open room's settings pane, for its owner or an admin (not in a direct conversation):
// its name and description, and deleting it, asked twice. Members are managed, and a
// member leaves, in the People panel (people-view.js). It renders ChatState and sends intents.

import { $ } from "./dom.js";
import { isBusy, whileBusy } from "./loading.js";

export class RoomSettingsView {
  /** intents: save(roomId, {name, description}) → Promise<error text>,
   * remove(roomId) → Promise<error text>, opening() (the other panes close) */
  constructor(state, intents) {
    this.state = state;
    this.intents = intents;
    this.roomId = null; // the room the open pane is about
    state.onChange((what) => {
      if (what === "current" || what === "rooms" || what === "room") this.#render();
    });
    $("settings-open").addEventListener("click", () => ($("settings-pane").hidden ? this.open() : this.close()));
    $("settings-close").addEventListener("click", () => this.close());
    $("settings-form").addEventListener("submit", (event) => this.#save(event));
    $("settings-delete").addEventListener("click", () => this.#confirming(true));
    $("settings-cancel").addEventListener("click", () => this.#confirming(false));
    $("settings-confirm-delete").addEventListener("click", () => this.#delete());
    $("settings-members").addEventListener("click", () => {
      this.close(false); // the People panel takes the pane's place again
      $("people-details").open = true;
      $("member-username").focus();
    });
    $("settings-pane").addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close();
    });
    // One pane beside the room at a time: another one shown (a thread, the pinned list) closes this one.
    const others = [...document.querySelectorAll(".room-body > .side-pane:not(#settings-pane)")];
    const closeIfTaken = () => others.some((pane) => !pane.hidden) && this.close(false);
    for (const pane of others) new MutationObserver(closeIfTaken).observe(pane, { attributeFilter: ["hidden"] });
  }

  #manages(room) {
    return Boolean(room) && this.state.manages(room.room.id);
  }

  #render() {
    const room = this.state.current;
    const manages = this.#manages(room);
    $("settings-open").hidden = !manages;
    // Another room, or not the user's to manage any more: the pane closes.
    if (!manages || room.room.id !== this.roomId) this.close(false);
  }

  open() {
    const room = this.state.current;
    if (!this.#manages(room)) return;
    this.roomId = room.room.id;
    $("settings-name").value = room.room.name;
    $("settings-description").value = room.room.description ?? "";
    $("settings-error").textContent = "";
    $("settings-status").textContent = "";
    this.#confirming(false, false);
    this.intents.opening();
    $("settings-pane").hidden = false;
    $("settings-open").setAttribute("aria-expanded", "true");
    $("settings-name").focus();
  }

  close(focus = true) {
    this.roomId = null;
    if ($("settings-pane").hidden) return;
    $("settings-pane").hidden = true;
    $("settings-open").setAttribute("aria-expanded", "false");
    if (focus && !$("settings-open").hidden) $("settings-open").focus();
  }

  async #save(event) {
    event.preventDefault();
    const name = $("settings-name").value.trim();
    const error = $("settings-error");
    error.textContent = "";
    $("settings-status").textContent = "";
    if (!name) {
      error.textContent = "Enter a name.";
      return;
    }
    const save = $("settings-save");
    if (isBusy(save)) return;
    const changes = { name, description: $("settings-description").value.trim() };
    const text = await whileBusy(save, () => this.intents.save(this.roomId, changes), "Saving…");
    if (text) error.textContent = text;
    else $("settings-status").textContent = "Saved.";
  }

  /** Delete asks first, naming the room; Cancel takes the question back. */
  #confirming(on, focus = true) {
    $("settings-confirm").hidden = !on;
    $("settings-delete").hidden = on;
    if (on) {
      const name = this.state.current?.room.name ?? "";
      $("settings-confirm-text").textContent =
        `Delete ${name} and all its messages, for every member? This cannot be undone.`;
    }
    if (focus) (on ? $("settings-cancel") : $("settings-delete")).focus();
  }

  async #delete() {
    const button = $("settings-confirm-delete");
    if (isBusy(button)) return;
    $("settings-error").textContent = "";
    const text = await whileBusy(button, () => this.intents.remove(this.roomId), "Deleting…");
    if (text) $("settings-error").textContent = text;
  }
}
