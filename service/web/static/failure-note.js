// A request the page makes by itself (no button pressed: a list refreshed, counts asked
// again, names looked up while typing, what a reconnect asks again) that fails says so
// where its content shows, without getting in the way: "<why> Retry". The next success
// clears it, and the next occasion asks again anyway. Said once by the polite live
// region (announcer.js); Retry is busy while it asks (loading.js).

import { announce } from "./announcer.js";
import { el } from "./dom.js";
import { isBusy, whileBusy } from "./loading.js";

export class FailureNote {
  /** note: the element it shows in (hidden while all is well); retry() → Promise, asked by
   * its Retry button; back() → where the keyboard's focus goes when it clears under it */
  constructor(note, retry, back = () => null) {
    this.note = note;
    this.text = "";
    this.back = back;
    this.line = el("span", "load-failed-text");
    this.button = el("button", "link", "Retry");
    this.button.type = "button";
    this.button.addEventListener("click", async () => {
      if (isBusy(this.button)) return;
      const before = this.text;
      await whileBusy(this.button, retry, "Retrying…");
      if (this.text && this.text === before) announce(this.text); // failed again, for the same reason
    });
    note.replaceChildren(this.line, " ", this.button);
    note.hidden = true;
  }

  /** `text`: why the request failed; "" when it went through (the note goes). */
  render(text) {
    if (text === this.text) return;
    const hadFocus = this.note.contains(document.activeElement);
    this.text = text;
    this.line.textContent = text;
    this.note.hidden = !text;
    if (text) announce(text);
    else if (hadFocus) this.back()?.focus();
  }
}
