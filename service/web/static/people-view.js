// The open room's People panel: who is online, the members (the owner adds and removes
// them), and "Leave room" for a member who is not its owner.
// It renders ChatState and sends intents; it fetches nothing itself.

import { $, el } from "./dom.js";

export class PeopleView {
  /** intents: addMember(username) → Promise<error text>, removeMember(user) → Promise<error text>,
   * leave() → Promise<error text> */
  constructor(state, intents) {
    this.state = state;
    this.intents = intents;
    this.roomId = null;
    state.onChange((what, roomId) => this.#changed(what, roomId));
    $("add-member").addEventListener("submit", (event) => this.#addMember(event));
    $("leave-room").addEventListener("click", () => this.#leave());
    // On a phone the panel starts folded, leaving the height to the conversation.
    if (matchMedia("(max-width: 40rem)").matches) $("people-details").open = false;
  }

  show() {
    const room = this.state.current;
    if (!room) return;
    if (this.roomId !== room.room.id) {
      $("member-username").value = "";
      $("add-member-error").textContent = "";
      $("leave-error").textContent = "";
    }
    this.roomId = room.room.id;
    this.#renderOnline();
    this.#renderMembers();
  }

  #changed(what, roomId) {
    const room = this.state.current;
    if (!room || this.roomId !== room.room.id) return;
    if (what === "rooms") return this.#renderMembers(); // membership may have changed
    if (roomId !== room.room.id) return;
    if (what === "room" || what === "online") this.#renderOnline();
    if (what === "room" || what === "members") this.#renderMembers();
  }

  #renderOnline() {
    const room = this.state.current;
    const me = this.state.me;
    const users = [...room.online.values()].sort((a, b) => a.username.localeCompare(b.username));
    $("online").replaceChildren(
      ...users.map((user) => {
        const item = el("li", "person", user.username);
        item.dataset.userId = String(user.id);
        if (me && user.id === me.id) item.append(el("span", "muted", " (you)"));
        return item;
      }),
    );
    $("online-count").textContent = `(${users.length})`;
  }

  #renderMembers() {
    const room = this.state.current;
    const me = this.state.me;
    const manages = Boolean(me && (me.is_admin || room.room.owner_id === me.id));
    $("add-member").hidden = !manages;
    $("members-error").textContent = room.membersError;
    const members = room.members ?? [];
    $("members-count").textContent = room.members ? `(${members.length})` : "";
    $("members").replaceChildren(
      ...members.map((user) => {
        const item = el("li", "member");
        item.dataset.userId = String(user.id);
        item.append(el("span", "member-name", user.username));
        if (user.id === room.room.owner_id) item.append(el("span", "badge", "owner"));
        else if (me && user.id === me.id) item.append(el("span", "muted", " (you)"));
        if (manages && user.id !== room.room.owner_id) {
          const remove = el("button", "link remove", "Remove");
          remove.type = "button";
          remove.setAttribute("aria-label", `Remove ${user.username}`);
          remove.addEventListener("click", () => this.#removeMember(user, remove));
          item.append(remove);
        }
        return item;
      }),
    );
    // The owner cannot leave (they delete the room instead); a conversation's two are fixed.
    const owner = Boolean(me && room.room.owner_id === me.id);
    $("leave").hidden = !room.member || owner || room.room.kind === "direct";
  }

  async #addMember(event) {
    event.preventDefault();
    const input = $("member-username");
    const error = $("add-member-error");
    const username = input.value.trim();
    error.textContent = "";
    if (!username) {
      error.textContent = "Enter a username.";
      return;
    }
    const text = await this.intents.addMember(username);
    if (text) error.textContent = text;
    else input.value = "";
  }

  async #removeMember(user, button) {
    button.disabled = true;
    const text = await this.intents.removeMember(user);
    if (text) $("members-error").textContent = text;
    button.disabled = false;
  }

  async #leave() {
    const button = $("leave-room");
    button.disabled = true;
    $("leave-error").textContent = "";
    const text = await this.intents.leave();
    if (text) $("leave-error").textContent = text;
    button.disabled = false;
  }
}
