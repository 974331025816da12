// The view with no room open: a notice (why the user landed here) and the new-room form.

import { ApiError, SignedOut } from "./api.js";
import { $ } from "./dom.js";
import { isBusy, whileBusy } from "./loading.js";

export class HomeView {
  /** intents.createRoom({name, description, private}) resolves when created, throws ApiError if not. */
  constructor(intents) {
    this.intents = intents;
    $("create-room").addEventListener("submit", (event) => this.#submit(event));
  }

  show(message) {
    $("rooms-notice").textContent = message;
    $("create-room-error").textContent = "";
  }

  focusForm() {
    $("room-name").focus();
  }

  async #submit(event) {
    event.preventDefault();
    const name = $("room-name").value.trim();
    const error = $("create-room-error");
    error.textContent = "";
    if (!name) {
      error.textContent = "Give the room a name.";
      return;
    }
    const button = $("create-room").querySelector("button[type=submit]");
    if (isBusy(button)) return;
    try {
      await whileBusy(button, () => this.intents.createRoom({ name, description: $("room-description").value, private: $("room-private").checked }), "Creating…");
      $("create-room").reset();
    } catch (failure) {
      if (failure instanceof SignedOut) return; // the app shows the sign-in view
      if (!(failure instanceof ApiError)) {
        error.textContent = "the server cannot be reached; try again";
        return;
      }
      error.textContent = failure.status === 409 ? "That name is taken." : failure.message;
    }
  }
}
