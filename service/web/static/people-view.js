// The open room's People panel: who is online, the members (the owner adds them, with
// the names of users offered as they type, and removes them), and "Leave room" for a member who is not its owner. A conversation's two
// members are fixed. Others' names open "Message <name>" (user-menu.js).
// It renders ChatState and sends intents; it fetches nothing itself.

import { $, el } from "./dom.js";
import { isBusy, whileBusy } from "./loading.js";
import { isDirect } from "./names.js";
import { UserSearch } from "./user-search.js";
import { userName } from "./user-menu.js";

const WAITING = { connecting: "connecting…", reconnecting: "reconnecting…", offline: "offline" };

/** The list's items drawn again; a name that had the focus keeps it. */
function redraw(list, items) {
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  const name = focused && focused.classList.contains("user-link") ? focused.dataset.username : null;
  list.replaceChildren(...items);
  const again = name ? [...list.querySelectorAll("button.user-link")].find((b) => b.dataset.username === name) : null;
  if (again) again.focus();
}

export class PeopleView {
  /** intents: addMember(username) → Promise<error text>, removeMember(user) → Promise<error text>,
   * leave() → Promise<error text>, lookup(prefix, limit) → Promise<[User]> (names offered while typed) */
  constructor(state, intents) {
    this.state = state;
    this.intents = intents;
    this.roomId = null;
    state.onChange((what, roomId) => this.#changed(what, roomId));
    $("add-member").addEventListener("submit", (event) => this.#addMember(event));
    new UserSearch($("member-username"), "member-suggestions", intents.lookup);
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
    if (what === "connection") return this.#renderOnline();
    if (what === "rooms") return this.#renderMembers(); // membership may have changed
    if (roomId !== room.room.id) return;
    if (what === "room" || what === "online") this.#renderOnline();
    if (what === "room" || what === "members") this.#renderMembers();
  }

  #renderOnline() {
    const me = this.state.me;
    const users = this.state.onlineUsers();
    redraw(
      $("online"),
      users.map((user) => {
        const self = Boolean(me && user.id === me.id);
        const item = el("li", "person");
        item.dataset.userId = String(user.id);
        item.append(userName(user, "person-name", self));
        if (self) item.append(el("span", "muted", " (you)"));
        return item;
      }),
    );
    // While the socket is down who is online is not known: said so, not left "online".
    const connection = this.state.connection.state;
    const live = connection === "live";
    $("online").setAttribute("aria-busy", String(!live));
    $("online-count").textContent = live ? `(${users.length})` : `(${WAITING[connection] ?? "reconnecting…"})`;
  }

  #renderMembers() {
    const room = this.state.current;
    const me = this.state.me;
    const direct = isDirect(room.room);
    const manages = this.state.manages(room.room.id);
    $("add-member").hidden = !manages;
    $("members-error").textContent = room.membersError;
    const members = room.members ?? [];
    $("members-count").textContent = room.members ? `(${members.length})` : "";
    redraw(
      $("members"),
      members.map((user) => {
        const item = el("li", "member");
        item.dataset.userId = String(user.id);
        item.append(userName(user, "member-name", Boolean(me && user.id === me.id)));
        if (user.id === room.room.owner_id && !direct) item.append(el("span", "badge", "owner"));
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
    $("leave").hidden = !room.member || owner || direct;
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
    const button = $("add-member").querySelector("button[type=submit]");
    if (isBusy(button)) return;
    const text = await whileBusy(button, () => this.intents.addMember(username), "Adding…");
    if (text) error.textContent = text;
    else input.value = "";
  }

  async #removeMember(user, button) {
    if (isBusy(button)) return;
    $("members-error").textContent = "";
    const text = await whileBusy(button, () => this.intents.removeMember(user), "Removing…");
    if (text) $("members-error").textContent = text;
  }

  async #leave() {
    const button = $("leave-room");
    if (isBusy(button)) return;
    $("leave-error").textContent = "";
    const text = await whileBusy(button, () => this.intents.leave(), "Leaving…");
    if (text) $("leave-error").textContent = text;
  }
}
