// Reactions on a message: one button per emoji with its count, pressed when the user has
// it (selecting it takes it back, or adds it), who reacted in its title; and the picker of
// common emoji that "React" opens. One listener per list of messages (the log, a thread).

import { $, el } from "./dom.js";
import { whileBusy } from "./loading.js";

export const COMMON_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];
const GAP_PX = 4;
const MARGIN_PX = 8;

/** "you, bob and 3 more": the names known of who reacted (the server lists the first 100). */
function who(entry, names, meId) {
  const listed = (entry.user_ids ?? []).map((id) => (id === meId ? "you" : (names.get(id) ?? "someone")));
  const more = entry.count - listed.length;
  if (more > 0) listed.push(`${more} more`);
  return listed.join(", ");
}

/** The message's reactions; `canReact`: the user may add and take back theirs. */
export function reactionRow(message, names, meId, canReact) {
  const row = el("div", "reactions");
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", "Reactions");
  for (const entry of message.reactions) {
    const chip = el("button", "reaction");
    chip.type = "button";
    chip.dataset.action = "toggle-reaction";
    chip.dataset.emoji = entry.emoji;
    chip.setAttribute("aria-pressed", String((entry.user_ids ?? []).includes(meId)));
    if (!canReact) chip.setAttribute("aria-disabled", "true");
    chip.append(el("span", "emoji", entry.emoji), el("span", "count", String(entry.count)));
    chip.title = `${who(entry, names, meId)} reacted with ${entry.emoji}`;
    row.append(chip);
  }
  return row;
}

/** The picker of common emoji, one for the page, opened beside a message's "React". */
export class ReactionPicker {
  constructor() {
    this.opener = null;
    this.chosen = null; // (emoji) → void, for the message it was opened on
    const picker = $("reaction-picker");
    picker.replaceChildren(
      ...COMMON_EMOJI.map((emoji) => {
        const choice = el("button", "emoji-choice", emoji);
        choice.type = "button";
        choice.dataset.emoji = emoji;
        choice.setAttribute("aria-label", `React with ${emoji}`);
        return choice;
      }),
    );
    picker.addEventListener("click", (event) => {
      const choice = event.target instanceof Element ? event.target.closest("button[data-emoji]") : null;
      if (!choice) return;
      const chosen = this.chosen;
      this.close(true);
      if (chosen) chosen(choice.dataset.emoji);
    });
    picker.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.close(true);
      } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        const choices = [...picker.querySelectorAll("button")];
        const at = choices.indexOf(document.activeElement);
        const next = (at + (event.key === "ArrowRight" ? 1 : -1) + choices.length) % choices.length;
        choices[next].focus();
      }
    });
    document.addEventListener("pointerdown", (event) => {
      if (this.opener && !picker.contains(event.target) && event.target !== this.opener) this.close(false);
    });
  }

  open(opener, chosen) {
    const same = this.opener === opener;
    this.close(false);
    if (same) return;
    const picker = $("reaction-picker");
    this.opener = opener;
    this.chosen = chosen;
    opener.setAttribute("aria-expanded", "true");
    picker.hidden = false;
    const at = opener.getBoundingClientRect();
    const left = Math.max(MARGIN_PX, Math.min(at.left, window.innerWidth - picker.offsetWidth - MARGIN_PX));
    let top = at.bottom + GAP_PX;
    if (top + picker.offsetHeight > window.innerHeight - MARGIN_PX) top = at.top - picker.offsetHeight - GAP_PX;
    picker.style.left = `${left}px`;
    picker.style.top = `${Math.max(MARGIN_PX, top)}px`;
    picker.querySelector("button").focus();
  }

  /** `refocus`: back on the button it was opened from. */
  close(refocus) {
    const opener = this.opener;
    if (!opener) return;
    this.opener = null;
    this.chosen = null;
    opener.setAttribute("aria-expanded", "false");
    $("reaction-picker").hidden = true;
    if (refocus && opener.isConnected) opener.focus();
  }
}

/**
 * Reactions on the messages of `list`: a reaction button toggles the user's own, "React"
 * opens the picker. intents: react(seq, emoji, add) → Promise<error text>;
 * view: message(seq) → Message, meId() → the user's id, settled(seq, text) (why it failed, "" when done).
 */
export function handleReactions(list, picker, intents, view) {
  list.addEventListener("click", async (event) => {
    const target = event.target instanceof Element ? event.target.closest("button[data-action]") : null;
    const item = target && target.closest("li[data-seq]");
    if (!item) return;
    const seq = Number(item.dataset.seq);
    if (target.dataset.action === "react") {
      target.setAttribute("aria-haspopup", "true");
      picker.open(target, async (emoji) => {
        const text = await intents.react(seq, emoji, true);
        view.settled(seq, text && `Could not add ${emoji}: ${text}`);
      });
    } else if (target.dataset.action === "toggle-reaction" && target.getAttribute("aria-disabled") !== "true") {
      const message = view.message(seq);
      const entry = message && message.reactions.find((r) => r.emoji === target.dataset.emoji);
      if (!entry) return;
      const add = !(entry.user_ids ?? []).includes(view.meId());
      const text = await whileBusy(target, () => intents.react(seq, entry.emoji, add)); // aria-disabled meanwhile
      view.settled(seq, text && `Could not ${add ? "add" : "take back"} ${entry.emoji}: ${text}`);
    }
  });
}
