// Reply, the thread's summary, Pin and Unpin on the messages of a list (the log, a
// thread, the pinned ones), and their reactions (reactions.js): one listener per list
// handles every message's buttons (data-action).

import { isBusy, whileBusy } from "./loading.js";
import { handleReactions } from "./reactions.js";

/**
 * intents: openThread(seq), pin(seq, on) → Promise<error text>;
 * view: settled(seq, text): why a pin did not go through on the message ("" when it did,
 * or when its Dismiss is pressed: what showed goes).
 */
export function handleMessageTools(list, intents, view) {
  list.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("button[data-action]") : null;
    const item = button && button.closest("li[data-seq]");
    if (!item) return;
    const seq = Number(item.dataset.seq);
    const action = button.dataset.action;
    if (action === "reply" || action === "open-thread") intents.openThread(seq);
    else if (action === "dismiss-failure") view.settled(seq, "");
    else if ((action === "pin" || action === "unpin") && !isBusy(button)) {
      const text = await whileBusy(button, () => intents.pin(seq, action === "pin"));
      view.settled(seq, text && `Could not ${action}: ${text}`);
    }
  });
}

/** Every button of a message but Edit and Delete (message-controls.js), on `list`.
 * intents: as handleMessageTools's, and react(seq, emoji, add) → Promise<error text>;
 * view: settled(seq, text), message(seq) → Message, meId(). */
export function handleMessageButtons(list, picker, intents, view) {
  handleReactions(list, picker, intents, view);
  handleMessageTools(list, intents, view);
}
