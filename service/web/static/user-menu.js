// A user's name opens a small menu with "Message <name>", which starts (or reopens) the
// direct conversation with them. Names of others are buttons of class "user-link"
// (message authors, the People panel); one listener on the document serves them all.
// Escape, Tab or a click elsewhere closes the menu; Escape goes back to the name, Tab on from it.

import { $, el } from "./dom.js";

const GAP_PX = 4;
const MARGIN_PX = 8;

/** A user's name: for anyone but the user themself (`self`), a button that opens the menu. */
export function userName(user, className, self) {
  if (self) return el("span", className, user.username);
  const button = el("button", `${className} user-link`, user.username);
  button.type = "button";
  button.dataset.username = user.username;
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-expanded", "false");
  return button;
}

export class UserMenu {
  /** intents: message(username) → Promise<error text> ("" when the conversation is open) */
  constructor(intents) {
    this.intents = intents;
    this.opener = null; // the name it was opened from
    this.username = null;
    const menu = $("user-menu");
    document.addEventListener("click", (event) => {
      const link = event.target instanceof Element ? event.target.closest("button.user-link") : null;
      if (link) this.#toggle(link);
      else if (this.username && !menu.contains(event.target)) this.close(false);
    });
    menu.addEventListener("keydown", (event) => {
      if (event.key === "Tab") return this.close(true); // and Tab goes on from the name, either way
      if (event.key !== "Escape") return;
      event.preventDefault();
      event.stopPropagation();
      this.close(true);
    });
    menu.addEventListener("focusout", (event) => {
      const to = event.relatedTarget;
      if (this.username && to && !menu.contains(to) && to !== this.opener) this.close(false);
    });
    $("user-menu-message").addEventListener("click", () => this.#message());
    // The name may move (the log scrolls, the window changes): the menu follows it.
    document.addEventListener("scroll", () => this.#place(), true);
    window.addEventListener("resize", () => this.#place());
  }

  /** Close the menu; `refocus`: back on the name it was opened from. */
  close(refocus) {
    if (!this.username) return;
    const opener = this.#opener();
    if (opener) opener.setAttribute("aria-expanded", "false");
    $("user-menu").hidden = true;
    this.opener = null;
    this.username = null;
    if (refocus && opener) opener.focus();
  }

  #toggle(link) {
    const same = this.username === link.dataset.username && this.opener === link;
    this.close(false);
    if (same) return;
    this.opener = link;
    this.username = link.dataset.username;
    link.setAttribute("aria-expanded", "true");
    $("user-menu-name").textContent = this.username;
    $("user-menu-message").textContent = `Message ${this.username}`;
    $("user-menu-message").disabled = false;
    $("user-menu-error").textContent = "";
    $("user-menu").hidden = false;
    this.#place();
    $("user-menu-message").focus();
  }

  /** The name the menu belongs to, or the same name drawn again since (lists redraw). */
  #opener() {
    if (this.opener && this.opener.isConnected) return this.opener;
    if (!this.username) return null;
    const found = document.querySelector(`button.user-link[data-username="${CSS.escape(this.username)}"]`);
    return found && found.offsetParent !== null ? found : null;
  }

  #place() {
    const menu = $("user-menu");
    const opener = this.#opener();
    if (!this.username || !opener) return;
    const at = opener.getBoundingClientRect();
    const width = menu.offsetWidth;
    const height = menu.offsetHeight;
    const left = Math.max(MARGIN_PX, Math.min(at.left, window.innerWidth - width - MARGIN_PX));
    let top = at.bottom + GAP_PX;
    if (top + height > window.innerHeight - MARGIN_PX) top = Math.max(MARGIN_PX, at.top - height - GAP_PX);
    menu.style.left = `${left}px`;
    menu.style.top = `${top}px`;
  }

  async #message() {
    const username = this.username;
    const button = $("user-menu-message");
    if (!username || button.disabled) return;
    button.disabled = true;
    $("user-menu-error").textContent = "";
    const text = await this.intents.message(username);
    if (this.username !== username) return; // closed meanwhile
    button.disabled = false;
    if (!text) {
      this.close(false);
      // The conversation was open already: nothing else takes the focus from the menu.
      if (document.activeElement === document.body && !$("view-room").hidden) $("room-title").focus();
      return;
    }
    $("user-menu-error").textContent = text;
    button.focus();
  }
}
