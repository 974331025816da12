// Edit and Delete on the messages of the log: one message at a time is being edited
// (an inline form: Enter saves, Escape cancels) or asked about before it is deleted.
// One set of listeners on the log handles every message's buttons (data-action).
// It also keeps the list's reactions and pins that failed (action-failures.js), so a
// message drawn again keeps them.

import { ActionFailures } from "./action-failures.js";
import { $ } from "./dom.js";
import { markBusy } from "./loading.js";

const FOCUS = { editing: ".edit-input", confirming: '[data-action="confirm-delete"]' };
const BACK_TO = { editing: '[data-action="edit"]', confirming: '[data-action="delete"]' };

export class MessageControls {
  /** intents: edit(seq, body), remove(seq) → Promise<error text>;
   * view: message(seq) → Message, redraw(seq, focusSelector) */
  constructor(log, intents, view) {
    this.log = log;
    this.intents = intents;
    this.view = view;
    this.control = null; // {seq, mode: "editing" | "confirming", draft, error, busy}
    this.failures = new ActionFailures((seq, focus) => view.redraw(seq, focus));
    log.addEventListener("click", (event) => this.#clicked(event));
    log.addEventListener("submit", (event) => this.#submitEdit(event));
    log.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && event.target.classList.contains("edit-input")) this.#end(true);
    });
    log.addEventListener("input", (event) => {
      if (this.control && event.target.classList.contains("edit-input")) this.control.draft = event.target.value;
    });
  }

  /** Another room: nothing is being edited, no failure shown. */
  reset() {
    this.control = null;
    this.failures.reset();
  }

  /** A reaction or pin on the message at `seq` is done: `text` why it failed, "" when it went through. */
  settled(seq, text) {
    this.failures.settled(seq, text);
  }

  /** messageItem's options for this message: {mode, draft, error, busy, failure}. */
  of(seq) {
    const control = this.control;
    const failure = this.failures.of(seq);
    if (!control || control.seq !== seq) return { failure };
    return { mode: control.mode, draft: control.draft, error: control.error, busy: control.busy, failure };
  }

  /** The message changed (an edit, a delete, here or elsewhere): false to leave its item
   * as it is (the editor keeps what the user typed). */
  changed(message) {
    const control = this.control;
    if (!control || control.seq !== message.seq) return true;
    if (message.deleted) this.control = null;
    else if (control.mode === "editing") return false;
    return true;
  }

  #clicked(event) {
    const button = event.target.closest("button[data-action]");
    const item = button && button.closest("li[data-seq]");
    if (!item) return;
    const seq = Number(item.dataset.seq);
    const action = button.dataset.action;
    if (action === "edit") this.#start(seq, "editing");
    else if (action === "delete") this.#start(seq, "confirming");
    else if (action === "cancel-edit" || action === "cancel-delete") this.#end(true);
    else if (action === "confirm-delete") this.#confirmDelete(seq);
  }

  #start(seq, mode) {
    const message = this.view.message(seq);
    if (!message || message.deleted) return;
    if (this.control) this.#end(false);
    this.control = { seq, mode, draft: message.body, error: "", busy: false };
    this.view.redraw(seq, FOCUS[mode]);
  }

  /** Close the editor or the question; `refocus`: back on the message's own button. */
  #end(refocus) {
    const control = this.control;
    if (!control) return;
    this.control = null;
    this.view.redraw(control.seq, refocus ? BACK_TO[control.mode] : null);
  }

  async #submitEdit(event) {
    if (!event.target.classList.contains("edit-form")) return;
    event.preventDefault();
    const control = this.control;
    if (!control || control.mode !== "editing" || control.busy) return;
    const message = this.view.message(control.seq);
    const body = control.draft;
    if (!body.trim()) return this.#failed(control, "A message cannot be empty: delete it instead.");
    if (!message || body === message.body) return this.#end(true);
    const text = await this.#busy(control, () => this.intents.edit(control.seq, body));
    if (this.control !== control) return; // closed meanwhile (deleted elsewhere)
    if (text) return this.#failed(control, text);
    this.#end(true);
  }

  async #confirmDelete(seq) {
    const control = this.control;
    if (!control || control.seq !== seq || control.busy) return;
    const text = await this.#busy(control, () => this.intents.remove(seq));
    if (this.control !== control) return; // its frame came first: a tombstone already
    if (text) return this.#failed(control, text);
    this.control = null;
    this.view.redraw(seq, null);
    $("message-input").focus();
  }

  /** The request's control shows it busy while it is out (message-item.js, loading.js). */
  async #busy(control, request) {
    control.busy = true;
    if (control.mode === "confirming") this.view.redraw(control.seq, FOCUS.confirming);
    else {
      // Not drawn again: the editor keeps its text and caret.
      const save = this.log.querySelector(`li[data-seq="${Number(control.seq)}"] .edit-form [type="submit"]`);
      if (save) markBusy(save, "Saving…");
    }
    const text = await request();
    control.busy = false;
    return text;
  }

  #failed(control, text) {
    control.error = text;
    this.view.redraw(control.seq, FOCUS[control.mode]);
  }
}
