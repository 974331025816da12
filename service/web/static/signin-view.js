// The sign-in view: log in or create an account, then hand over to the app.

import { ApiError } from "./api.js";
import { $ } from "./dom.js";
import { whileBusy } from "./loading.js";

export class SignInView {
  /** intents.signIn(username, password, registering) resolves when signed in, throws ApiError if not. */
  constructor(intents) {
    this.intents = intents;
    $("login-form").addEventListener("submit", (event) => this.#submit(event));
  }

  show(message) {
    $("login-notice").textContent = message;
    $("login-error").textContent = "";
    $("login-username").focus();
  }

  async #submit(event) {
    event.preventDefault();
    const username = $("login-username").value.trim();
    const password = $("login-password").value;
    const registering = Boolean(event.submitter && event.submitter.value === "register");
    const error = $("login-error");
    error.textContent = "";
    if (!username || !password) {
      error.textContent = "Enter a username and a password.";
      return;
    }
    const buttons = [$("login-submit"), $("register-submit")];
    buttons.forEach((b) => (b.disabled = true));
    try {
      const pressed = registering ? buttons[1] : buttons[0]; // it says so; both take no click meanwhile
      const busyText = registering ? "Creating account…" : "Logging in…";
      await whileBusy(pressed, () => this.intents.signIn(username, password, registering), busyText);
      $("login-password").value = "";
    } catch (failure) {
      let text = failure instanceof ApiError ? failure.message : "the server cannot be reached; try again";
      if (failure instanceof ApiError && failure.status === 401) text = "Wrong username or password.";
      if (failure instanceof ApiError && failure.status === 409) text = "That username is taken.";
      error.textContent = text;
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  }
}
