// `@` completion in a text field: typing "@" and the start of a name lists the room's
// members whose names start with it (and @room); the arrows move through the list, Enter
// or Tab puts the name in, Escape closes it. The field is an ARIA combobox, the list a listbox.

import { el } from "./dom.js";
import { completeMention, mentionAt, mentionCandidates } from "./mentions.js";

export class MentionInput {
  /** members() → [User] of the room (empty until fetched); meId() → the user's id. */
  constructor(input, members, meId) {
    this.input = input;
    this.members = members;
    this.meId = meId;
    this.names = [];
    this.active = 0;
    this.found = null; // {start, query} of the mention being typed
    this.list = el("ul", "mention-list");
    this.list.id = `${input.id}-mentions`;
    this.list.setAttribute("role", "listbox");
    this.list.setAttribute("aria-label", "People to mention");
    this.list.hidden = true;
    input.after(this.list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", this.list.id);
    input.setAttribute("aria-expanded", "false");
    input.addEventListener("input", () => this.#update());
    input.addEventListener("click", () => this.#update());
    input.addEventListener("blur", () => this.close());
    input.addEventListener("keydown", (event) => this.#key(event));
    // pointerdown, not click: the field keeps the focus, so its blur does not close the list first.
    this.list.addEventListener("pointerdown", (event) => {
      const option = event.target instanceof Element ? event.target.closest("[role=option]") : null;
      if (!option) return;
      event.preventDefault();
      this.#pick(option.dataset.name);
    });
  }

  get isOpen() {
    return !this.list.hidden;
  }

  close() {
    if (!this.isOpen) return;
    this.list.hidden = true;
    this.found = null;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  #update() {
    const caret = this.input.selectionStart ?? this.input.value.length;
    const found = this.input.selectionEnd === caret ? mentionAt(this.input.value, caret) : null;
    const names = found ? mentionCandidates(this.members(), found.query, this.meId()) : [];
    if (!names.length) return this.close();
    this.found = found;
    this.names = names;
    this.active = 0;
    this.#render();
  }

  #render() {
    const options = this.names.map((name, index) => {
      const option = el("li", "mention-option", name === "room" ? "@room (everyone here)" : `@${name}`);
      option.id = `${this.list.id}-${index}`;
      option.dataset.name = name;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", String(index === this.active));
      return option;
    });
    this.list.replaceChildren(...options);
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.input.setAttribute("aria-activedescendant", options[this.active].id);
  }

  #key(event) {
    if (!this.isOpen) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.names.length) % this.names.length;
      this.#render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault(); // the name goes in; the message is not sent yet
      this.#pick(this.names[this.active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.close();
    }
  }

  #pick(name) {
    const found = this.found;
    if (!found) return;
    const caret = this.input.selectionStart ?? this.input.value.length;
    const done = completeMention(this.input.value, found, caret, name);
    this.input.value = done.value;
    this.input.setSelectionRange(done.caret, done.caret);
    this.close();
    this.input.focus();
  }
}
