// Why a reaction or a pin did not go through, shown on the message it concerns, beside
// its buttons, until it is dismissed (Dismiss, by keyboard too) or the next reaction or
// pin on that message goes through; said once by the polite live region (announcer.js).
// Kept per list, by seq, so the message keeps it when it is drawn again.

import { announce } from "./announcer.js";

const AFTER_DISMISS = "button.tool, button.reaction"; // the keyboard's focus stays on the message

export class ActionFailures {
  /** redraw(seq, focus): the list draws the message again, the focus on `focus` (a selector in it) */
  constructor(redraw) {
    this.redraw = redraw;
    this.texts = new Map(); // seq → why
  }

  /** The request on the message at `seq` is done: `text` why it failed, "" when it went through. */
  settled(seq, text) {
    const shown = this.texts.get(seq) ?? "";
    if (text) {
      announce(text); // each time: the user asked again
      if (shown === text) return;
      this.texts.set(seq, text);
      this.redraw(seq, null);
      return;
    }
    if (!shown) return;
    const focused = document.activeElement;
    const on = focused?.closest("li[data-seq]")?.dataset.seq === String(seq);
    const dismissing = on && focused.dataset.action === "dismiss-failure";
    this.texts.delete(seq);
    this.redraw(seq, dismissing ? AFTER_DISMISS : null);
  }

  /** messageItem's `failure` for the message at `seq`. */
  of(seq) {
    return this.texts.get(seq) ?? "";
  }

  /** Another room or thread: nothing shown. */
  reset() {
    this.texts.clear();
  }
}
