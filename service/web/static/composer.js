// The open room's composer: the message's text (typing reported, @ completion by
// mention-input.js, set up by the room's view) and its files (composer-files.js). Send
// goes once every file is uploaded, with text, files or both.
// Enter sends and Shift+Enter starts a new line; the box grows with its text up to the
// height the style sheet allows, then scrolls. What is typed is kept per room (drafts.js)
// while the user switches rooms and across a reload. Up in an empty box edits the user's
// last message.

import { ComposerFiles } from "./composer-files.js";
import { $ } from "./dom.js";
import { Drafts } from "./drafts.js";

function sessionStore() {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage turned off: drafts live in the page only
  }
}

export class Composer {
  /** intents: send(body, files), typing(), stoppedTyping(), editLast() → whether a message is
   * now being edited; uploader: Uploader */
  constructor(intents, uploader) {
    this.intents = intents;
    this.roomId = null;
    this.drafts = null; // the signed-in user's
    this.userId = null;
    this.files = new ComposerFiles(uploader, () => this.#renderSend());
    const input = $("message-input");
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      if (!this.files.canSend(input.value)) return;
      const files = this.files.take();
      intents.send(input.value.trim() ? input.value : "", files);
      this.#setText("");
      input.focus();
      this.#renderSend();
    });
    input.addEventListener("input", () => {
      if (input.value.trim()) intents.typing();
      else intents.stoppedTyping();
      this.drafts?.set(this.roomId, input.value);
      this.#fit();
    });
    input.addEventListener("keydown", (event) => this.#key(event));
  }

  /** Another room was opened: its draft in the box, no files. */
  switchTo(roomId, userId) {
    // What was set without an input event (a name the @ list completed) stays with its room.
    if (this.drafts && this.userId === userId && this.roomId !== null) {
      this.drafts.set(this.roomId, $("message-input").value);
    }
    if (!this.drafts || this.userId !== userId) {
      this.drafts = new Drafts(sessionStore(), userId);
      this.userId = userId;
    }
    this.roomId = roomId;
    this.files.clear();
    this.#setText(this.drafts.get(roomId));
  }

  /** Signed out: nothing typed, no files, no drafts kept. */
  reset() {
    this.drafts?.clear();
    this.drafts = null;
    this.roomId = null;
    this.#setText("");
    this.files.clear();
  }

  #key(event) {
    const input = event.currentTarget;
    // The @ list, while open, takes Enter and the arrows (mention-input.js).
    if (event.isComposing || input.getAttribute("aria-expanded") === "true") return;
    const plain = !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey;
    if (event.key === "Enter" && plain) {
      event.preventDefault();
      $("composer").requestSubmit();
    } else if (event.key === "ArrowUp" && plain && input.value === "") {
      if (this.intents.editLast()) event.preventDefault();
    }
  }

  #setText(text) {
    const input = $("message-input");
    input.value = text;
    this.drafts?.set(this.roomId, text);
    this.#fit();
  }

  /** As tall as its text, up to the style sheet's max-height (then it scrolls). */
  #fit() {
    const input = $("message-input");
    input.style.height = "auto";
    if (input.value) input.style.height = `${input.scrollHeight + input.offsetHeight - input.clientHeight}px`;
  }

  /** Send waits for uploads (an empty message is simply not sent, as before). */
  #renderSend() {
    const waiting = this.files.files.items.some((item) => item.state !== "uploaded");
    $("send").disabled = waiting;
    $("send").title = waiting ? "Send when every file is uploaded (remove those that failed)" : "";
  }
}
