// The sidebar: the user's rooms, the most recently active first, with their unread
// counts and, apart, how many of those mention the user; their direct conversations the
// same way, each named after the other user, and a field to write to someone by name;
// below them the public rooms they may open and join, by name. The open room is marked.
// It renders ChatState and sends intents; it fetches nothing itself.

import { $, el } from "./dom.js";
import { isBusy, whileBusy } from "./loading.js";
import { isDirect, roomLabel } from "./names.js";
import { TitleBadge } from "./title-badge.js";
import { UserSearch } from "./user-search.js";

/** The list holds `items` in this order; nodes already in place are not touched, so a
 * render does not take the focus from the button the user is on. */
function place(list, items) {
  items.forEach((item, index) => {
    const at = list.children[index];
    if (at !== item) list.insertBefore(item, at ?? null);
  });
  while (list.children.length > items.length) list.lastElementChild.remove();
}

export class SidebarView {
  /** intents: open(roomId), refresh(), newRoom(), message(username) → Promise<error text> (a
   * direct conversation), lookup(prefix, limit) → Promise<[User]> (names offered while typed) */
  constructor(state, intents) {
    this.state = state;
    this.intents = intents;
    this.buttons = new Map(); // room id → <button>, reused so focus survives a render
    $("rooms-refresh").addEventListener("click", () => intents.refresh());
    $("new-room").addEventListener("click", () => intents.newRoom());
    $("new-dm").addEventListener("submit", (event) => this.#message(event));
    new UserSearch($("dm-username"), "dm-suggestions", intents.lookup);
    new TitleBadge(state); // the same totals, in the tab's title and icon
    state.onChange((what) => {
      if (what === "rooms" || what === "current") this.render();
    });
  }

  render() {
    const state = this.state;
    const { rooms, direct, others, unreadElsewhere } = state.sidebar();
    const focused = document.activeElement;
    place($("room-list"), rooms.map((room) => this.#item(room, true)));
    place($("dm-list"), direct.map((room) => this.#item(room, true)));
    place($("public-list"), others.map((room) => this.#item(room, false)));
    // A room that moved up (news) keeps the keyboard's focus.
    if (focused !== document.activeElement && focused && focused.isConnected) focused.focus();
    for (const id of [...this.buttons.keys()]) if (!state.rooms.has(id)) this.buttons.delete(id);
    $("rooms-empty").hidden = rooms.length > 0;
    $("dms-empty").hidden = direct.length > 0;
    $("public-list").hidden = others.length === 0;
    $("public-heading").hidden = others.length === 0;
    const back = $("back-unread");
    back.hidden = unreadElsewhere === 0;
    back.textContent = unreadElsewhere ? String(unreadElsewhere) : "";
    back.title = `${unreadElsewhere} unread in other rooms`;
  }

  /** "Message someone": the conversation with that user, started or reopened. */
  async #message(event) {
    event.preventDefault();
    const input = $("dm-username");
    const username = input.value.trim();
    $("new-dm-error").textContent = "";
    if (!username) {
      $("new-dm-error").textContent = "Enter a username.";
      return;
    }
    const button = $("new-dm").querySelector("button[type=submit]");
    if (isBusy(button)) return;
    const text = await whileBusy(button, () => this.intents.message(username), "Opening…");
    $("new-dm-error").textContent = text;
    if (!text) input.value = "";
  }

  #item(roomState, member) {
    const { room } = roomState;
    let button = this.buttons.get(room.id);
    if (!button) {
      button = el("button", "room-open");
      button.type = "button";
      button.dataset.roomId = String(room.id);
      button.addEventListener("click", () => this.intents.open(room.id));
      this.buttons.set(room.id, button);
    }
    const unread = member ? roomState.unread : 0;
    const parts = [el("span", "room-name", roomLabel(room, this.state.me))];
    if (room.private && !isDirect(room)) parts.push(el("span", "badge", "private"));
    const mentions = member ? roomState.mentions : 0;
    if (mentions) {
      // Apart from the unread count: mentions of the user among those unread messages.
      const badge = el("span", "mention-count", `@${mentions}`);
      badge.title = `${mentions} mentioning you`;
      parts.push(badge, el("span", "visually-hidden", mentions === 1 ? " mention of you" : " mentions of you"));
    }
    if (unread) {
      const badge = el("span", "unread", String(unread));
      badge.title = `${unread} unread`;
      parts.push(badge, el("span", "visually-hidden", unread === 1 ? " unread message" : " unread messages"));
    }
    button.replaceChildren(...parts);
    button.classList.toggle("has-unread", unread > 0);
    if (room.id === this.state.currentId) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
    const item = button.parentElement && button.parentElement.tagName === "LI" ? button.parentElement : el("li");
    item.dataset.roomId = String(room.id);
    if (item.firstChild !== button) item.replaceChildren(button);
    return item;
  }
}
