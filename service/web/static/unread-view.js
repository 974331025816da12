// The "new messages" line in the open room's log (where: unread-line.js), and "Jump to
// new messages" while the line is out of view. The room's log draws the line's item;
// this module makes it and scrolls to it.

import { $, el } from "./dom.js";
import { isAtEnd } from "./log-scroll.js";

const ABOVE_LINE_PX = 40; // a little of what was read stays in view above the line

export class UnreadMark {
  /** line: the page's UnreadLine; redraw(): the log drawn again (the room's view, if it shows the open room) */
  constructor(state, line, redraw) {
    this.line = line;
    this.scroll = $("log-scroll");
    this.button = $("jump-unread");
    this.item = null; // the line's <li> last drawn
    this.observer = new IntersectionObserver((entries) => this.#seen(entries), { root: this.scroll });
    this.button.addEventListener("click", () => this.scrollTo());
    state.onChange((what, roomId) => {
      if (what === "current") this.#forget();
      if (what !== "unread-line" || roomId !== state.currentId) return;
      // Placed once the room was live and seen, or again on coming back: drawn, and scrolled
      // to unless the reader is up in the history.
      const atEnd = isAtEnd(this.scroll);
      redraw();
      if (atEnd) this.scrollTo();
    });
  }

  /** The line's item onto `items` when it goes right above `message` in `room`; true if so. */
  addTo(items, room, message) {
    if (this.line.seq(room) !== message.seq) return false;
    this.#forget();
    const item = el("li", "unread-line"); // an item of the log's list, read out as its text
    item.append(el("span", "", "New messages"));
    this.item = item;
    this.observer.observe(item);
    items.push(item);
    return true;
  }

  /** Bring the line near the top of the log; false when there is none drawn. */
  scrollTo() {
    if (!this.item || !this.item.isConnected) return false;
    const top = this.scroll.getBoundingClientRect().top;
    this.scroll.scrollTop += this.item.getBoundingClientRect().top - top - ABOVE_LINE_PX;
    return true;
  }

  #seen(entries) {
    for (const entry of entries) {
      if (entry.target === this.item) this.button.hidden = entry.isIntersecting || !this.item.isConnected;
    }
  }

  #forget() {
    if (this.item) this.observer.unobserve(this.item);
    this.item = null;
    this.button.hidden = true;
  }
}
