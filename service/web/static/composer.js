// The open room's composer: the message's text (typing reported, @ completion by
// mention-input.js, set up by the room's view) and its files (composer-files.js). Send
// goes once every file is uploaded, with text, files or both.

import { ComposerFiles } from "./composer-files.js";
import { $ } from "./dom.js";

export class Composer {
  /** intents: send(body, files), typing(), stoppedTyping(); uploader: Uploader */
  constructor(intents, uploader) {
    this.files = new ComposerFiles(uploader, () => this.#renderSend());
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("message-input");
      if (!this.files.canSend(input.value)) return;
      const files = this.files.take();
      intents.send(input.value.trim() ? input.value : "", files);
      input.value = "";
      input.focus();
      this.#renderSend();
    });
    $("message-input").addEventListener("input", (event) => {
      if (event.target.value.trim()) intents.typing();
      else intents.stoppedTyping();
    });
  }

  /** Another room: nothing typed, no files. */
  reset() {
    $("message-input").value = "";
    this.files.clear();
  }

  /** Send waits for uploads (an empty message is simply not sent, as before). */
  #renderSend() {
    const waiting = this.files.files.items.some((item) => item.state !== "uploaded");
    $("send").disabled = waiting;
    $("send").title = waiting ? "Send when every file is uploaded (remove those that failed)" : "";
  }
}
