// One message of the log as an <li>: avatar (avatar.js), author, time (its title the
// full date), body (Markdown, mentions marked), "(edited)", its files (file-view.js), its reactions, its thread (how many replies, the last one
// when), "Pinned", and the controls the user may use on it: Reply (a thread), React, Pin or Unpin (members),
// Edit (their own messages, an inline form) and Delete (their own, or any in a room they
// own or as an admin; asked once more first). A deleted message keeps its place as a
// tombstone and never shows its old text.
// Buttons carry data-action; the views handle them (one listener per list). The tools
// (class "tool") show on hover or focus (style.css); Tab reaches them all the same.
// The author's name opens "Message <name>" (user-menu.js), except on the user's own.

import { avatar } from "./avatar.js";
import { timeOf } from "./dates.js";
import { el } from "./dom.js";
import { fileList } from "./file-view.js";
import { markBusy } from "./loading.js";
import { bodyNode } from "./message-body.js";
import { mentionKinds, mentionsUser } from "./mentions.js";
import { reactionRow } from "./reactions.js";
import { userName } from "./user-menu.js";

export { dayKey, daySeparator } from "./dates.js";

export const MAX_BODY = 4000;

function button(text, action, className = "link") {
  const node = el("button", className, text);
  node.type = "button";
  node.dataset.action = action;
  return node;
}

/** messageItem's options for `message` of the open room: the rights the state gives (state: ChatState). */
export function messageOptions(state, message) {
  const room = state.current;
  return { ...state.messageRights(message), names: room.names, meId: state.me ? state.me.id : null };
}

/** Where a window of older history ends (room-state.js's hole): a button pages what follows. */
export function holeItem(buttonId) {
  const item = el("li", "hole");
  const button = el("button", "secondary small", "Show newer messages");
  button.type = "button";
  button.id = buttonId;
  item.append(button);
  return item;
}

function count(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** The root's thread: how many replies, and when the last one came; it opens the thread. */
function threadSummary(message) {
  const summary = button(count(message.reply_count, "reply", "replies"), "open-thread", "link thread-summary");
  if (message.last_reply_at) {
    const time = timeOf(message.last_reply_at, "last-reply");
    time.textContent = `last reply ${time.textContent}`;
    summary.append(" · ", time);
  }
  return summary;
}

/** The body's Markdown as nodes, with the mentions the message holds marked (never markup from it). */
function bodyOf(message, names, meId) {
  return bodyNode(message.body ?? "", mentionKinds(message, names, meId));
}

/**
 * options: own (the user wrote it), canEdit, canDelete, canReply (a top-level message, the
 *   user a member), canReact, canPin, thread (show its thread's summary), names (id →
 *   username, for mentions and who reacted), meId,
 *   mode: "" | "editing" | "confirming", draft (the editor's text), error (under the message),
 *   busy (its edit or delete is on its way: Save or "Yes, delete" says so, disabled),
 *   failure (why a reaction or pin on it did not go through: beside its buttons, with Dismiss)
 */
export function messageItem(message, options = {}) {
  const { own = false, canEdit = false, canDelete = false, mode = "", draft = "", error = "", busy = false } = options;
  const { canReply = false, canReact = false, canPin = false, thread = false, names = new Map(), meId = null } = options;
  const { failure = "" } = options;
  const item = el("li", "message");
  if (own) item.classList.add("own");
  const meta = el("div", "meta");
  meta.append(avatar(message.user), userName(message.user, "author", own));
  if (message.created_at) meta.append(timeOf(message.created_at));
  if (message.deleted) {
    item.classList.add("deleted");
    item.append(meta, el("p", "body tombstone", "message deleted"));
    if (thread && message.reply_count) item.append(threadSummary(message));
    return item;
  }
  if (message.pinned) {
    item.classList.add("pinned");
    meta.append(el("span", "pin-mark", "Pinned"));
  }
  if (!own && message.seq !== undefined && mentionsUser(message, meId)) item.classList.add("mentions-me");
  if (mode === "editing") {
    item.append(meta, editor(message, draft, busy));
  } else {
    // "(edited)" follows the text, not the meta line: a grouped message hides its meta.
    const content = el("div", "content");
    const files = message.files ?? [];
    if (message.body || !files.length) content.append(bodyOf(message, names, meId)); // files alone: no empty line
    if (message.edited_at) {
      const edited = el("span", "edited", "(edited)");
      edited.title = `edited ${new Date(message.edited_at).toLocaleString()}`;
      content.append(edited);
    }
    item.append(meta, content);
    if (files.length) item.append(fileList(files));
    const tools = [];
    if (canReply) tools.push(button("Reply", "reply", "link tool"));
    if (canReact) tools.push(button("React", "react", "link tool"));
    if (canPin) tools.push(button(message.pinned ? "Unpin" : "Pin", message.pinned ? "unpin" : "pin", "link tool"));
    if ((tools.length || canEdit || canDelete) && mode !== "confirming") {
      // Beside the body, not in the meta line: a grouped message hides its meta.
      const actions = el("div", "actions");
      actions.append(...tools);
      if (canEdit) actions.append(button("Edit", "edit", "link tool"));
      if (canDelete) actions.append(button("Delete", "delete", "link tool"));
      item.append(actions);
      item.classList.add("has-actions");
    }
    if (mode === "confirming") item.append(confirmation(busy));
  }
  if (failure) {
    const line = el("p", "action-failed", failure);
    line.append(" ", button("Dismiss", "dismiss-failure"));
    item.append(line);
  }
  if (message.reactions && message.reactions.length) item.append(reactionRow(message, names, meId, canReact));
  if (thread && message.reply_count) item.append(threadSummary(message));
  if (error) item.append(el("p", "error", error));
  return item;
}

function editor(message, draft, busy) {
  const form = el("form", "edit-form");
  form.method = "post";
  const id = `edit-${message.seq}`;
  const label = el("label", "visually-hidden", "Edit message");
  label.htmlFor = id;
  const input = el("textarea", "edit-input");
  input.id = id;
  input.name = "body";
  input.autocomplete = "off";
  input.maxLength = MAX_BODY;
  input.rows = Math.min(8, draft.split("\n").length);
  input.value = draft;
  input.setSelectionRange(draft.length, draft.length); // the caret after the text, as when typing
  // As in the composer: Enter saves, Shift+Enter starts a new line.
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    form.requestSubmit();
  });
  const save = el("button", "small", "Save");
  save.type = "submit";
  if (busy) markBusy(save, "Saving…");
  const row = el("div", "row");
  row.append(input, save, button("Cancel", "cancel-edit", "secondary small"));
  form.append(label, row, el("p", "hint", "Enter saves, Shift+Enter starts a new line, Escape cancels."));
  return form;
}

function confirmation(busy) {
  const row = el("div", "row confirm");
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", "Delete this message?");
  const yes = button("Yes, delete", "confirm-delete", "danger small");
  if (busy) markBusy(yes, "Deleting…");
  row.append(
    el("span", "", "Delete for everyone?"),
    yes,
    button("Cancel", "cancel-delete", "secondary small"),
  );
  return row;
}
